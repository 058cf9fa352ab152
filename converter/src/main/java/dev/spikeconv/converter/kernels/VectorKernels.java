package dev.spikeconv.converter.kernels;

import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float kernels of the reference engine, vectorized with the Vector API. {@link ScalarKernels}
 * holds the same operations as plain loops; the two agree up to summation order.
 */
public final class VectorKernels {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Below this many multiply-adds a product runs on the calling thread: forking costs more. */
    private static final long PARALLEL_THRESHOLD = 1 << 18;

    private VectorKernels() {}

    public static float dot(float[] left, int leftOffset, float[] right, int rightOffset, int length) {
        FloatVector sum = FloatVector.zero(SPECIES);
        int i = 0;
        int upperBound = SPECIES.loopBound(length);
        for (; i < upperBound; i += SPECIES.length()) {
            FloatVector a = FloatVector.fromArray(SPECIES, left, leftOffset + i);
            FloatVector b = FloatVector.fromArray(SPECIES, right, rightOffset + i);
            sum = a.fma(b, sum);
        }
        // Lane by lane in a fixed order: reduceLanes(ADD) may sum in another order once the JIT compiles it,
        // and calibration must give the same bytes on every run.
        float result = 0;
        for (int lane = 0; lane < SPECIES.length(); lane++) {
            result += sum.lane(lane);
        }
        for (; i < length; i++) {
            result += left[leftOffset + i] * right[rightOffset + i];
        }
        return result;
    }

    /**
     * {@code output[t][o] = sum_i input[t][i] * weights[o][i]}: every token times every weight row,
     * iterating weight rows outermost so each row is read from memory once for all tokens.
     */
    public static void multiplyTransposed(float[] input, int tokens, float[] weights, int outputs, int inputs, float[] output) {
        IntStream rows = IntStream.range(0, outputs);
        if ((long) tokens * outputs * inputs >= PARALLEL_THRESHOLD) {
            rows = rows.parallel();
        }
        rows.forEach(row -> {
            for (int token = 0; token < tokens; token++) {
                output[token * outputs + row] = dot(input, token * inputs, weights, row * inputs, inputs);
            }
        });
    }

    /** {@code target[targetOffset + i] += scale * source[sourceOffset + i]} for {@code i < length}. */
    public static void addScaled(float[] target, int targetOffset, float scale, float[] source, int sourceOffset, int length) {
        FloatVector factor = FloatVector.broadcast(SPECIES, scale);
        int i = 0;
        int upperBound = SPECIES.loopBound(length);
        for (; i < upperBound; i += SPECIES.length()) {
            FloatVector sum = FloatVector.fromArray(SPECIES, source, sourceOffset + i)
                    .fma(factor, FloatVector.fromArray(SPECIES, target, targetOffset + i));
            sum.intoArray(target, targetOffset + i);
        }
        for (; i < length; i++) {
            target[targetOffset + i] = Math.fma(source[sourceOffset + i], scale, target[targetOffset + i]);
        }
    }
}
