package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.kernels.VectorKernels;

/** {@code y = W x + b} for a row-major weight {@code [outputs, inputs]}; the bias may be absent. */
record Linear(float[] weight, float[] bias, int outputs, int inputs) {
    /** Applies the projection to {@code tokens} rows of {@code input}; returns {@code [tokens, outputs]}. */
    float[] apply(float[] input, int tokens) {
        float[] output = new float[tokens * outputs];
        VectorKernels.multiplyTransposed(input, tokens, weight, outputs, inputs, output);
        if (bias != null) {
            for (int token = 0; token < tokens; token++) {
                for (int row = 0; row < outputs; row++) {
                    output[token * outputs + row] += bias[row];
                }
            }
        }
        return output;
    }
}
