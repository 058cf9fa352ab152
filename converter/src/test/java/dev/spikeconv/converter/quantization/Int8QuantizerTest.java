package dev.spikeconv.converter.quantization;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class Int8QuantizerTest {
    private static final SplittableRandom SEEDS = new SplittableRandom(8);

    @RepeatedTest(30)
    void errorStaysWithinHalfAScaleStepPerGroup() {
        QuantizedSample sample = QuantizedSample.draw(SEEDS.split(), 0);
        int rows = sample.rows();
        int columns = sample.columns();
        int group = sample.group();
        float[] weights = sample.weights();
        int groups = sample.groups();
        byte[] codes = sample.codes();
        float[] scales = sample.scales();
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

    /**
     * The vector quantizer against its scalar oracle, byte for byte: magnitudes from subnormal to huge, exact halves
     * (ties to even), zeros of both signs, all-zero groups, group sizes that do and do not divide the row. Many cases
     * in one test, so the JIT compiles the vector code (intrinsics) partway and both the interpreted and compiled forms
     * are checked.
     */
    @Test
    void vectorQuantizerMatchesTheScalarDefinition() {
        for (int test = 0; test < 20_000; test++) {
            SplittableRandom random = new SplittableRandom(test);
            int rows = random.nextInt(1, 5);
            int columns = random.nextInt(1, 400);
            int group = random.nextInt(4) == 0 ? columns : random.nextInt(1, 140);
            float magnitude = (float) Math.pow(2, random.nextInt(-140, 120));
            float[] weights = new float[rows * columns];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = switch (random.nextInt(6)) {
                    case 0 -> 0f;
                    case 1 -> -0f;
                    // n + 0.5 steps of a group whose maximum is 127 steps: w / scale lands on a tie
                    case 2 -> (random.nextInt(-127, 127) + 0.5f) * magnitude;
                    case 3 -> 127 * magnitude * (random.nextBoolean() ? 1 : -1);
                    default -> (float) (random.nextGaussian() * magnitude);
                };
            }
            if (random.nextInt(4) == 0) {
                Arrays.fill(weights, 0, Math.min(weights.length, group), 0f);
            }
            int groups = Int8Quantizer.groupsPerRow(columns, group);
            byte[] codes = new byte[weights.length];
            float[] scales = new float[rows * groups];
            byte[] expectedCodes = new byte[weights.length];
            float[] expectedScales = new float[rows * groups];
            Int8Quantizer.quantize(weights, rows, columns, group, codes, scales);
            Int8Quantizer.quantizeScalar(weights, rows, columns, group, expectedCodes, expectedScales);
            assertThat(codes).as("codes, case %d", test).isEqualTo(expectedCodes);
            assertThat(scales).as("scales, case %d", test).isEqualTo(expectedScales);
        }
    }

    @Test
    void aNonFiniteWeightGivesItsGroupANonFiniteScale() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] weights = new float[80];
            Arrays.fill(weights, 1f);
            weights[70] = bad;
            float[] scales = new float[3];
            Int8Quantizer.quantize(weights, 1, 80, 32, new byte[80], scales);
            assertThat(scales[0]).isEqualTo(1f / 127);
            assertThat(scales[1]).isEqualTo(1f / 127);
            assertThat(Float.isFinite(scales[2])).as("scale of the group holding %s", bad).isFalse();
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
