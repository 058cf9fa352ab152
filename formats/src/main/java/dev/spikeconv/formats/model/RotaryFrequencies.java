package dev.spikeconv.formats.model;


/**
 * The inverse frequencies of rotate-half RoPE, {@code theta^(-2i/d)} for {@code i < d/2}, with the
 * model's long-context scaling applied as transformers does. Both engines use these exact floats.
 */
public final class RotaryFrequencies {
    private RotaryFrequencies() {}

    public static float[] inverseFrequencies(ModelConfig config) {
        int dimension = config.headDimension();
        float[] frequencies = new float[dimension / 2];
        for (int i = 0; i < frequencies.length; i++) {
            frequencies[i] = (float) (1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / dimension));
        }
        RopeScaling scaling = config.ropeScaling();
        switch (scaling.kind()) {
            case NONE -> { }
            case LINEAR -> {
                for (int i = 0; i < frequencies.length; i++) {
                    frequencies[i] = (float) (frequencies[i] / scaling.factor());
                }
            }
            case LLAMA3 -> applyLlama3(frequencies, scaling);
        }
        return frequencies;
    }

    /** Llama 3.1: long wavelengths divided by the factor, short ones kept, a smooth blend between. */
    private static void applyLlama3(float[] frequencies, RopeScaling scaling) {
        double lowFrequencyWavelength = scaling.originalMaxPositions() / scaling.lowFrequencyFactor();
        double highFrequencyWavelength = scaling.originalMaxPositions() / scaling.highFrequencyFactor();
        for (int i = 0; i < frequencies.length; i++) {
            double frequency = frequencies[i];
            double wavelength = 2 * Math.PI / frequency;
            if (wavelength > lowFrequencyWavelength) {
                frequencies[i] = (float) (frequency / scaling.factor());
            }
            else if (wavelength >= highFrequencyWavelength) {
                double smooth = (scaling.originalMaxPositions() / wavelength - scaling.lowFrequencyFactor())
                        / (scaling.highFrequencyFactor() - scaling.lowFrequencyFactor());
                frequencies[i] = (float) ((1 - smooth) * frequency / scaling.factor() + smooth * frequency);
            }
        }
    }
}
