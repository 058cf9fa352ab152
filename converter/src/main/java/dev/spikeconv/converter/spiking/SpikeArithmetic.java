package dev.spikeconv.converter.spiking;

/** The spike arithmetic of DESIGN §4, in float32 as both engines compute it. */
public final class SpikeArithmetic {
    public static final float MINIMUM_THRESHOLD = 1e-5f;
    public static final float MAXIMUM_THRESHOLD = 1e4f;

    private SpikeArithmetic() {}

    /** Dynamic threshold of one token: {@code clamp(mean(|a|) / k, 1e-5, 1e4)}. */
    public static float dynamicThreshold(float[] input, int offset, int length, float k) {
        float sum = 0;
        for (int i = 0; i < length; i++) {
            sum += Math.abs(input[offset + i]);
        }
        float threshold = sum / length / k;
        return Math.max(MINIMUM_THRESHOLD, Math.min(MAXIMUM_THRESHOLD, threshold));
    }

    /** {@code clamp(roundHalfEven(a / θ), -T, T)}. */
    public static int count(float activation, float threshold, int timeSteps) {
        float rounded = (float) Math.rint(activation / threshold);
        return (int) Math.max(-timeSteps, Math.min(timeSteps, rounded));
    }
}
