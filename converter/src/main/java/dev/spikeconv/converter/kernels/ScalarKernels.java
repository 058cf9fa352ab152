package dev.spikeconv.converter.kernels;

/** Plain-loop forms of the kernels in {@link VectorKernels}: the oracle their tests compare against. */
public final class ScalarKernels {
    private ScalarKernels() {}

    public static float dot(float[] left, int leftOffset, float[] right, int rightOffset, int length) {
        float sum = 0;
        for (int i = 0; i < length; i++) {
            sum += left[leftOffset + i] * right[rightOffset + i];
        }
        return sum;
    }

    /** {@code output[t][o] = sum_i input[t][i] * weights[o][i]} for row-major {@code input [tokens, inputs]}, {@code weights [outputs, inputs]}. */
    public static void multiplyTransposed(float[] input, int tokens, float[] weights, int outputs, int inputs, float[] output) {
        for (int token = 0; token < tokens; token++) {
            for (int row = 0; row < outputs; row++) {
                output[token * outputs + row] = dot(input, token * inputs, weights, row * inputs, inputs);
            }
        }
    }

    /** {@code target[targetOffset + i] += scale * source[sourceOffset + i]}, one fused multiply-add each. */
    public static void addScaled(float[] target, int targetOffset, float scale, float[] source, int sourceOffset, int length) {
        for (int i = 0; i < length; i++) {
            target[targetOffset + i] = Math.fma(source[sourceOffset + i], scale, target[targetOffset + i]);
        }
    }

    /** {@code target[targetOffset + i] = decay · target[targetOffset + i] + scale · source[sourceOffset + i]}, one fused multiply-add each. */
    public static void scaleAndAdd(float[] target, int targetOffset, float decay, float scale, float[] source, int sourceOffset, int length) {
        for (int i = 0; i < length; i++) {
            target[targetOffset + i] = Math.fma(source[sourceOffset + i], scale, decay * target[targetOffset + i]);
        }
    }

    /** {@code Σ |values[i]|} in float64, in index order. */
    public static double sumOfMagnitudes(float[] values, int offset, int length) {
        double sum = 0;
        for (int i = 0; i < length; i++) {
            sum += Math.abs(values[offset + i]);
        }
        return sum;
    }

    /** {@code Σ codes[i] · spikes[i]} in int32. */
    public static int int8Dot(byte[] codes, int codesOffset, byte[] spikes, int spikesOffset, int length) {
        int sum = 0;
        for (int i = 0; i < length; i++) {
            sum += codes[codesOffset + i] * spikes[spikesOffset + i];
        }
        return sum;
    }
}
