package dev.spikeconv.converter.reference;

/** RMSNorm: {@code x / sqrt(mean(x^2) + eps) * w}, over rows of {@code weight.length} values. */
public final class Normalization {
    private Normalization() {}

    public static float[] rms(float[] input, int rows, float[] weight, double epsilon) {
        int width = weight.length;
        float[] output = new float[rows * width];
        for (int row = 0; row < rows; row++) {
            int offset = row * width;
            float sumOfSquares = 0;
            for (int i = 0; i < width; i++) {
                sumOfSquares += input[offset + i] * input[offset + i];
            }
            float inverse = (float) (1 / Math.sqrt(sumOfSquares / width + (float) epsilon));
            for (int i = 0; i < width; i++) {
                output[offset + i] = input[offset + i] * inverse * weight[i];
            }
        }
        return output;
    }
}
