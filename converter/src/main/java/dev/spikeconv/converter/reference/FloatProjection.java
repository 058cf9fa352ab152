package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.kernels.VectorKernels;

/** {@code y = W a + b} with float weights {@code [outputs, inputs]}; the bias may be absent. */
record FloatProjection(float[] weight, float[] bias, int outputs, int inputs) implements Projection {
    @Override
    public float[] apply(float[] input, int tokens) {
        float[] output = new float[tokens * outputs];
        VectorKernels.multiplyTransposed(input, tokens, weight, outputs, inputs, output);
        Biases.add(output, tokens, bias);
        return output;
    }
}
