package dev.spikeconv.formats.model;

/**
 * How rotary position frequencies are rescaled for long context. Only the kinds spikeconv can
 * reproduce exactly are representable; loaders refuse the others by name.
 */
public record RopeScaling(Kind kind, double factor, double lowFrequencyFactor, double highFrequencyFactor, int originalMaxPositions) {
    public enum Kind {
        NONE,
        /** Positions divided by {@code factor}. */
        LINEAR,
        /** Llama 3.1's per-frequency interpolation. */
        LLAMA3
    }

    public static final RopeScaling NONE = new RopeScaling(Kind.NONE, 1, 0, 0, 0);

    public static RopeScaling linear(double factor) {
        return new RopeScaling(Kind.LINEAR, factor, 0, 0, 0);
    }

    public static RopeScaling llama3(double factor, double lowFrequencyFactor, double highFrequencyFactor, int originalMaxPositions) {
        return new RopeScaling(Kind.LLAMA3, factor, lowFrequencyFactor, highFrequencyFactor, originalMaxPositions);
    }
}
