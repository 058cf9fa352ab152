package dev.spikeconv.converter.reference;

import dev.spikeconv.formats.model.SpikeSettings;

/** The spike arithmetic of DESIGN §4, shared by the spiking projections. */
final class Spiking {
    static final float MINIMUM_THRESHOLD = 1e-5f;
    static final float MAXIMUM_THRESHOLD = 1e4f;

    private Spiking() {}

    /** Dynamic threshold of one token: {@code clamp(mean(|a|) / k, 1e-5, 1e4)}. */
    static float dynamicThreshold(float[] input, int offset, int length, float k) {
        float sum = 0;
        for (int i = 0; i < length; i++) {
            sum += Math.abs(input[offset + i]);
        }
        float threshold = sum / length / k;
        return Math.max(MINIMUM_THRESHOLD, Math.min(MAXIMUM_THRESHOLD, threshold));
    }

    /** {@code clamp(roundHalfEven(a / θ), -T, T)}. */
    static int count(float activation, float threshold, int timeSteps) {
        float rounded = (float) Math.rint(activation / threshold);
        return (int) Math.max(-timeSteps, Math.min(timeSteps, rounded));
    }

    static void addBias(float[] output, int tokens, float[] bias) {
        if (bias == null) {
            return;
        }
        int outputs = bias.length;
        for (int token = 0; token < tokens; token++) {
            for (int row = 0; row < outputs; row++) {
                output[token * outputs + row] += bias[row];
            }
        }
    }

    static float k(SpikeSettings settings) {
        return (float) settings.k();
    }
}
