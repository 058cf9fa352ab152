package dev.spikeconv.converter.reference;

import dev.spikeconv.formats.tensor.ScaledInt8Tensor;

/** int8 codes {@code [outputs, inputs]} with float scales per output row and input group. */
record Int8Weights(byte[] codes, float[] scales, int outputs, int inputs, int group) {
    static Int8Weights of(ScaledInt8Tensor tensor) {
        int outputs = (int) tensor.shape().dimension(0);
        int inputs = (int) tensor.shape().dimension(1);
        float[] codeValues = tensor.codes().toFloats();
        byte[] codes = new byte[codeValues.length];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) codeValues[i];
        }
        return new Int8Weights(codes, tensor.scales().toFloats(), outputs, inputs, Math.min(tensor.groupSize(), inputs));
    }

    int groups() {
        return (inputs + group - 1) / group;
    }

    /** The float weights {@code code * scale}, as DequantizeLinear computes them. */
    float[] dequantized() {
        float[] weights = new float[codes.length];
        int groups = groups();
        for (int row = 0; row < outputs; row++) {
            for (int column = 0; column < inputs; column++) {
                weights[row * inputs + column] = codes[row * inputs + column] * scales[row * groups + column / group];
            }
        }
        return weights;
    }
}
