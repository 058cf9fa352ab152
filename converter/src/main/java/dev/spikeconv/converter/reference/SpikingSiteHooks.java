package dev.spikeconv.converter.reference;

/**
 * What a run may do at each spiking site of the reference engine: see the activations the site turns into counts
 * (calibration histograms them, verify counts the spikes), and hand it counts to use instead of its own (verify feeds
 * ONNX Runtime's, so both engines multiply the same integers and their logits differ by float rounding only).
 */
public interface SpikingSiteHooks {
    /** The engine computes every count itself and nobody looks. */
    SpikingSiteHooks NONE = new SpikingSiteHooks() { };

    /** Counts to use at {@code site} for a run of {@code n} tokens, {@code [n][inputs]}; null: the engine computes them. */
    default float[][] forcedCounts(String site) {
        return null;
    }

    /** The activations {@code [tokens, width]} that {@code site} turns into counts. Called on the run's thread; do not keep the array. */
    default void input(String site, float[] activations, int tokens, int width) {
    }

    /** Hooks that force ONNX Runtime's counts from {@code counts} (by site) and observe nothing. */
    static SpikingSiteHooks forcing(java.util.function.Function<String, float[][]> counts) {
        return new SpikingSiteHooks() {
            @Override
            public float[][] forcedCounts(String site) {
                return counts.apply(site);
            }
        };
    }
}
