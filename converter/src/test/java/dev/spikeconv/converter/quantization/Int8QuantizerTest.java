package dev.spikeconv.converter.quantization;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class Int8QuantizerTest {
    private static final SplittableRandom SEEDS = new SplittableRandom(8);

    @RepeatedTest(30)
    void errorStaysWithinHalfAScaleStepPerGroup() {
        SplittableRandom random = SEEDS.split();
        int rows = random.nextInt(1, 6);
        int columns = random.nextInt(1, 300);
        int group = random.nextBoolean() ? columns : random.nextInt(1, 130);
        float[] weights = new float[rows * columns];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (float) ((random.nextDouble() - 0.5) * Math.exp(random.nextGaussian() * 2));
        }
        int groups = Int8Quantizer.groupsPerRow(columns, group);
        byte[] codes = new byte[weights.length];
        float[] scales = new float[rows * groups];
        Int8Quantizer.quantize(weights, rows, columns, group, codes, scales);
        for (int row = 0; row < rows; row++) {
            for (int index = 0; index < groups; index++) {
                float scale = scales[row * groups + index];
                float maximum = 0;
                int end = Math.min(columns, (index + 1) * group);
                for (int column = index * group; column < end; column++) {
                    maximum = Math.max(maximum, Math.abs(weights[row * columns + column]));
                }
                assertThat(scale).isEqualTo(maximum / 127);
                for (int column = index * group; column < end; column++) {
                    int i = row * columns + column;
                    float reconstructed = codes[i] * scale;
                    // half a step, plus the float rounding of w / scale and of code * scale
                    assertThat(Math.abs(reconstructed - weights[i])).isLessThanOrEqualTo(scale / 2 + Math.ulp(maximum) * 2);
                    assertThat(codes[i]).isBetween((byte) -127, (byte) 127);
                }
                // the largest magnitude of every group maps to ±127 exactly
                if (maximum > 0) {
                    boolean hasFullCode = false;
                    for (int column = index * group; column < end; column++) {
                        hasFullCode |= Math.abs(codes[row * columns + column]) == 127;
                    }
                    assertThat(hasFullCode).isTrue();
                }
            }
        }
    }

    @Test
    void groupsAreIndependentAndZeroGroupsHaveZeroScale() {
        float[] weights = {1, -2, 0, 0, 100, 50, 12.7f};
        byte[] codes = new byte[7];
        float[] scales = new float[4];
        Int8Quantizer.quantize(weights, 1, 7, 2, codes, scales);
        assertThat(scales).containsExactly(2f / 127, 0f, 100f / 127, 12.7f / 127);
        assertThat(codes[1]).isEqualTo((byte) -127);
        assertThat(codes[2]).isZero();
        assertThat(codes[3]).isZero();
        assertThat(codes[4]).isEqualTo((byte) 127);
        assertThat(codes[6]).isEqualTo((byte) 127); // the short last group has a scale of its own
        float[] perRowScales = new float[1];
        Int8Quantizer.quantize(weights, 1, 7, 7, codes, perRowScales);
        assertThat(perRowScales).containsExactly(100f / 127);
        assertThat(codes).containsExactly(1, -3, 0, 0, 127, 64, 16);
    }

    @Test
    void roundsHalfToEvenAndClamps() {
        assertThat(Int8Quantizer.code(2.5f)).isEqualTo((byte) 2);
        assertThat(Int8Quantizer.code(3.5f)).isEqualTo((byte) 4);
        assertThat(Int8Quantizer.code(-2.5f)).isEqualTo((byte) -2);
        assertThat(Int8Quantizer.code(127.49f)).isEqualTo((byte) 127);
        assertThat(Int8Quantizer.code(300f)).isEqualTo((byte) 127);
        assertThat(Int8Quantizer.code(-300f)).isEqualTo((byte) -127);
    }
}
