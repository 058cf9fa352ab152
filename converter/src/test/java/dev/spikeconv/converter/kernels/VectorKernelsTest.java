package dev.spikeconv.converter.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** Randomized equivalence of the vector kernels with their scalar oracle. */
class VectorKernelsTest {
    private static final SplittableRandom SEEDS = new SplittableRandom(20261201);

    private static float[] random(SplittableRandom random, int length) {
        float[] values = new float[length];
        for (int i = 0; i < length; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return values;
    }

    /** Summation order differs; the bound is a few ulps of the sum of absolute products. */
    private static double tolerance(float[] left, int leftOffset, float[] right, int rightOffset, int length) {
        double magnitude = 0;
        for (int i = 0; i < length; i++) {
            magnitude += Math.abs(left[leftOffset + i] * right[rightOffset + i]);
        }
        return 1e-6 * Math.max(1, magnitude) * Math.sqrt(length + 1);
    }

    @RepeatedTest(50)
    void dotMatchesTheScalarOracleForAnyLengthAndOffset() {
        SplittableRandom random = SEEDS.split();
        int length = random.nextInt(0, 300);
        int leftOffset = random.nextInt(0, 17);
        int rightOffset = random.nextInt(0, 17);
        float[] left = random(random, leftOffset + length);
        float[] right = random(random, rightOffset + length);
        float expected = ScalarKernels.dot(left, leftOffset, right, rightOffset, length);
        float actual = VectorKernels.dot(left, leftOffset, right, rightOffset, length);
        assertThat(actual).isCloseTo(expected, within((float) tolerance(left, leftOffset, right, rightOffset, length)));
    }

    /**
     * The float64 sum of magnitudes behind the dynamic spike threshold: any order gives the same float32 mean, so the
     * vector and scalar forms round to the same float (values over 24 octaves, any length and offset).
     */
    @RepeatedTest(50)
    void sumOfMagnitudesGivesTheScalarOraclesFloatMean() {
        SplittableRandom random = SEEDS.split();
        int length = random.nextInt(1, 5000);
        int offset = random.nextInt(0, 17);
        float[] values = new float[offset + length];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) ((random.nextDouble() * 2 - 1) * Math.scalb(1.0, random.nextInt(-12, 12)));
        }
        double expected = ScalarKernels.sumOfMagnitudes(values, offset, length);
        double actual = VectorKernels.sumOfMagnitudes(values, offset, length);
        assertThat(actual).isCloseTo(expected, within(1e-12 * expected));
        assertThat((float) (actual / length)).isEqualTo((float) (expected / length));
    }

    @RepeatedTest(20)
    void multiplyTransposedMatchesTheScalarOracle() {
        SplittableRandom random = SEEDS.split();
        int tokens = random.nextInt(1, 9);
        int outputs = random.nextInt(1, 200);
        int inputs = random.nextInt(1, 200);
        float[] input = random(random, tokens * inputs);
        float[] weights = random(random, outputs * inputs);
        float[] expected = new float[tokens * outputs];
        float[] actual = new float[tokens * outputs];
        ScalarKernels.multiplyTransposed(input, tokens, weights, outputs, inputs, expected);
        VectorKernels.multiplyTransposed(input, tokens, weights, outputs, inputs, actual);
        for (int i = 0; i < expected.length; i++) {
            int token = i / outputs;
            int row = i % outputs;
            assertThat(actual[i]).isCloseTo(expected[i], within((float) tolerance(input, token * inputs, weights, row * inputs, inputs)));
        }
    }

    @Test
    void largeProductsTakeTheParallelPathAndStillAgree() {
        SplittableRandom random = new SplittableRandom(5);
        int tokens = 16;
        int outputs = 512;
        int inputs = 257;
        float[] input = random(random, tokens * inputs);
        float[] weights = random(random, outputs * inputs);
        float[] expected = new float[tokens * outputs];
        float[] actual = new float[tokens * outputs];
        ScalarKernels.multiplyTransposed(input, tokens, weights, outputs, inputs, expected);
        VectorKernels.multiplyTransposed(input, tokens, weights, outputs, inputs, actual);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).isCloseTo(expected[i], within(1e-3f));
        }
    }

    @RepeatedTest(50)
    void addScaledMatchesTheScalarOracleExactly() {
        SplittableRandom random = SEEDS.split();
        int length = random.nextInt(0, 300);
        int targetOffset = random.nextInt(0, 17);
        int sourceOffset = random.nextInt(0, 17);
        float scale = (float) random.nextDouble(-3, 3);
        float[] source = random(random, sourceOffset + length);
        float[] expected = random(random, targetOffset + length + 5);
        float[] actual = expected.clone();
        ScalarKernels.addScaled(expected, targetOffset, scale, source, sourceOffset, length);
        VectorKernels.addScaled(actual, targetOffset, scale, source, sourceOffset, length);
        // one fused multiply-add per element in both: the same bits, and nothing outside the range touched
        assertThat(actual).containsExactly(expected);
    }

    @RepeatedTest(50)
    void int8DotMatchesTheScalarOracleExactly() {
        SplittableRandom random = SEEDS.split();
        int length = random.nextInt(0, 600);
        int codesOffset = random.nextInt(0, 33);
        int spikesOffset = random.nextInt(0, 33);
        byte[] codes = new byte[codesOffset + length];
        byte[] spikes = new byte[spikesOffset + length];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) random.nextInt(-127, 128);
        }
        for (int i = 0; i < spikes.length; i++) {
            spikes[i] = (byte) random.nextInt(-127, 128);
        }
        assertThat(VectorKernels.int8Dot(codes, codesOffset, spikes, spikesOffset, length))
                .isEqualTo(ScalarKernels.int8Dot(codes, codesOffset, spikes, spikesOffset, length));
    }

    @Test
    void int8DotAtTheExtremesDoesNotOverflow() {
        byte[] codes = new byte[4096];
        byte[] spikes = new byte[4096];
        java.util.Arrays.fill(codes, (byte) -127);
        java.util.Arrays.fill(spikes, (byte) -127);
        assertThat(VectorKernels.int8Dot(codes, 0, spikes, 0, 4096)).isEqualTo(127 * 127 * 4096);
    }
}
