package dev.spikeconv.converter.kernels;

import java.util.stream.IntStream;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float kernels of the reference engine, vectorized with the Vector API. {@link ScalarKernels}
 * holds the same operations as plain loops; the two agree up to summation order. Also the helpers of
 * vector code that sums in double precision (widening floats, adding lanes in a fixed order).
 */
public final class VectorKernels {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** int8 products widen to int32: as many bytes per step as the preferred int vector has lanes. */
    private static final VectorSpecies<Integer> INT_SPECIES = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> BYTE_SPECIES = VectorSpecies.of(byte.class, VectorShape.forBitSize(INT_SPECIES.length() * Byte.SIZE));
    /** Doubles at the preferred width, for sums and exponentials that need double precision. */
    public static final VectorSpecies<Double> DOUBLE_SPECIES = DoubleVector.SPECIES_PREFERRED;
    /** As many floats as {@link #DOUBLE_SPECIES} has lanes, so that one vector widens to one vector of doubles ({@link #widened}). */
    public static final VectorSpecies<Float> WIDENING_SPECIES = VectorSpecies.of(float.class, VectorShape.forBitSize(DOUBLE_SPECIES.vectorBitSize() / 2));
    /** Below this many multiply-adds a product runs on the calling thread: forking costs more. */
    private static final long PARALLEL_THRESHOLD = 1 << 18;

    private VectorKernels() {}

    /** The lanes of a vector of {@link #WIDENING_SPECIES} as doubles, exactly. */
    public static DoubleVector widened(FloatVector values) {
        return (DoubleVector) values.convertShape(VectorOperators.F2D, DOUBLE_SPECIES, 0);
    }

    /**
     * The lanes of {@code vector} added in lane order: {@code reduceLanes(ADD)} leaves the order open, so its compiled and
     * interpreted forms may differ in the last bit, and the same data could give two results in one run.
     */
    public static double sumInLaneOrder(DoubleVector vector) {
        double sum = 0;
        for (double lane : vector.toArray()) {
            sum += lane;
        }
        return sum;
    }

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

    /** {@code target[targetOffset + i] = decay · target[targetOffset + i] + scale · source[sourceOffset + i]}: a GLA state row's update. */
    public static void scaleAndAdd(float[] target, int targetOffset, float decay, float scale, float[] source, int sourceOffset, int length) {
        FloatVector decays = FloatVector.broadcast(SPECIES, decay);
        FloatVector factor = FloatVector.broadcast(SPECIES, scale);
        int i = 0;
        int upperBound = SPECIES.loopBound(length);
        for (; i < upperBound; i += SPECIES.length()) {
            FloatVector kept = FloatVector.fromArray(SPECIES, target, targetOffset + i).mul(decays);
            FloatVector.fromArray(SPECIES, source, sourceOffset + i).fma(factor, kept).intoArray(target, targetOffset + i);
        }
        for (; i < length; i++) {
            target[targetOffset + i] = Math.fma(source[sourceOffset + i], scale, decay * target[targetOffset + i]);
        }
    }

    /**
     * {@code Σ |values[i]|} in float64, a vector of doubles at a time. Each term is exact in double; the sum differs from
     * any other order's by at most a few units of 2^-52 relative, far below float32's resolution.
     */
    public static double sumOfMagnitudes(float[] values, int offset, int length) {
        DoubleVector sum = DoubleVector.zero(DOUBLE_SPECIES);
        int i = 0;
        int upperBound = WIDENING_SPECIES.loopBound(length);
        for (; i < upperBound; i += WIDENING_SPECIES.length()) {
            sum = sum.add(widened(FloatVector.fromArray(WIDENING_SPECIES, values, offset + i).abs()));
        }
        double result = sumInLaneOrder(sum);
        for (; i < length; i++) {
            result += Math.abs(values[offset + i]);
        }
        return result;
    }

    /** {@code Σ codes[i] · spikes[i]} in exact int32 arithmetic: int8 weight codes times spike counts (|s| ≤ 127). */
    public static int int8Dot(byte[] codes, int codesOffset, byte[] spikes, int spikesOffset, int length) {
        IntVector sum = IntVector.zero(INT_SPECIES);
        int i = 0;
        int upperBound = BYTE_SPECIES.loopBound(length);
        for (; i < upperBound; i += BYTE_SPECIES.length()) {
            IntVector a = (IntVector) ByteVector.fromArray(BYTE_SPECIES, codes, codesOffset + i).convertShape(VectorOperators.B2I, INT_SPECIES, 0);
            IntVector b = (IntVector) ByteVector.fromArray(BYTE_SPECIES, spikes, spikesOffset + i).convertShape(VectorOperators.B2I, INT_SPECIES, 0);
            sum = a.mul(b).add(sum);
        }
        // Integer addition is associative: any lane order gives the same sum.
        int result = sum.reduceLanes(VectorOperators.ADD);
        for (; i < length; i++) {
            result += codes[codesOffset + i] * spikes[spikesOffset + i];
        }
        return result;
    }
}
