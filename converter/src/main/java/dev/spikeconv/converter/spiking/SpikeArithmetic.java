package dev.spikeconv.converter.spiking;

import dev.spikeconv.converter.kernels.VectorKernels;

/**
 * The spike arithmetic of docs/design.md §4 to the one rule both engines follow (docs/design.md, "Spike counts"), so that the
 * same activations give the same counts in the Java reference and in the ONNX graph:
 * <ul>
 *   <li>dynamic threshold: {@code Σ|a|} in float64 (any order), divided by the width in float64 and rounded once to
 *       float32; that mean divided by k in float32; clamped to [1e-5, 1e4];</li>
 *   <li>count: {@code a / θ} in float32 (one correctly rounded division), rounded half to even, clamped to ±T.</li>
 * </ul>
 */
public final class SpikeArithmetic {
    public static final float MINIMUM_THRESHOLD = 1e-5f;
    public static final float MAXIMUM_THRESHOLD = 1e4f;

    private SpikeArithmetic() {}

    /** Dynamic threshold of one token: {@code clamp(mean(|a|) / k, 1e-5, 1e4)}, the mean summed in float64. */
    public static float dynamicThreshold(float[] input, int offset, int length, float k) {
        float mean = (float) (VectorKernels.sumOfMagnitudes(input, offset, length) / length);
        return clampThreshold(mean / k);
    }

    /** The threshold kept inside [1e-5, 1e4], as ONNX's {@code Clip(θ, 1e-5, 1e4)}. */
    static float clampThreshold(float threshold) {
        return Math.min(MAXIMUM_THRESHOLD, Math.max(MINIMUM_THRESHOLD, threshold));
    }

    /** {@code clamp(roundHalfEven(a / θ), -T, T)}; a NaN activation counts 0. */
    public static int count(float activation, float threshold, int timeSteps) {
        float rounded = (float) Math.rint(activation / threshold);
        return (int) Math.max(-timeSteps, Math.min(timeSteps, rounded));
    }
}
