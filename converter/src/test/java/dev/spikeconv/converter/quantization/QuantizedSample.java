package dev.spikeconv.converter.quantization;

import java.util.SplittableRandom;

/**
 * A random weight tensor and its int8 codes and scales: a few rows of odd widths, one group per row or groups that leave
 * a short last one, magnitudes spread over several powers of two and a share of exact zeros.
 */
record QuantizedSample(int rows, int columns, int group, float[] weights, byte[] codes, float[] scales) {
    static QuantizedSample draw(SplittableRandom random, double zeroShare) {
        int rows = random.nextInt(1, 6);
        int columns = random.nextInt(1, 300);
        int group = random.nextBoolean() ? columns : random.nextInt(1, 130);
        float[] weights = new float[rows * columns];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = random.nextDouble() < zeroShare ? 0 : (float) ((random.nextDouble() - 0.5) * Math.exp(random.nextGaussian() * 2));
        }
        byte[] codes = new byte[weights.length];
        float[] scales = new float[rows * Int8Quantizer.groupsPerRow(columns, group)];
        Int8Quantizer.quantize(weights, rows, columns, group, codes, scales);
        return new QuantizedSample(rows, columns, group, weights, codes, scales);
    }

    int groups() {
        return Int8Quantizer.groupsPerRow(columns, group);
    }
}
