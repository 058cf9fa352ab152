package dev.spikeconv.converter.reference;

/**
 * Spike counts given to the reference engine instead of the ones it would compute: for a run of {@code n} tokens, the
 * counts of a site as {@code [n][inputs]}, or null where the engine computes its own. Verify feeds ONNX Runtime's counts
 * this way, so both engines multiply the same integers and their logits differ by float rounding only.
 */
@FunctionalInterface
public interface SpikeCountSource {
    /** The engine computes every count itself. */
    SpikeCountSource NONE = site -> null;

    float[][] counts(String site);
}
