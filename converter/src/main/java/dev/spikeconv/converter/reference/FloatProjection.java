package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.kernels.MatrixMultiply;
import dev.spikeconv.converter.kernels.WeightRows;

/** {@code y = W a + b} with weights {@code [outputs, inputs]} read as stored; the bias may be absent. */
record FloatProjection(WeightRows weight, float[] bias) implements Projection {
    @Override
    public float[] apply(float[] input, int tokens) {
        float[] output = new float[tokens * outputs()];
        MatrixMultiply.multiply(input, tokens, weight, output);
        Biases.add(output, tokens, bias);
        return output;
    }

    @Override
    public int outputs() {
        return weight.rows();
    }

    @Override
    public int inputs() {
        return weight.columns();
    }
}
