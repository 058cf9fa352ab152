package dev.spikeconv.converter.reference;

/** Adds a projection's bias to every token's output. */
final class Biases {
    private Biases() {}

    /** {@code output[token, row] += bias[row]}; a null bias adds nothing. */
    static void add(float[] output, int tokens, float[] bias) {
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
}
