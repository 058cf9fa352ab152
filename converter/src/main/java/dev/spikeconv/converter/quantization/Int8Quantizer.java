package dev.spikeconv.converter.quantization;

import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Symmetric int8 quantization of weight rows (docs/design.md §4): per row or per input group of {@code group}
 * values, {@code scale = max|w| / 127}, {@code code = roundHalfEven(w / scale)} clamped to ±127; an
 * all-zero group has scale 0 and codes 0. The last group of a row may be shorter. Float32 throughout,
 * so every implementation that follows these steps gets the same bytes: {@link #quantize} (Vector API)
 * and its oracle {@link #quantizeScalar} (the steps as plain loops) give identical codes and scales.
 */
public final class Int8Quantizer {
    public static final int MAX_CODE = 127;
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> BYTE_SPECIES = VectorSpecies.of(byte.class, VectorShape.forBitSize(SPECIES.length() * Byte.SIZE));
    /**
     * Adding then subtracting 1.5 · 2^23 rounds a float below 2^22 in magnitude to an integer, ties to even, exactly
     * as {@link Math#rint}: the sum lies where float spacing is 1. Quotients here are at most about 127.
     */
    private static final float ROUNDING = 0x1.8p23f;

    private Int8Quantizer() {}

    /** Number of scale columns for rows of {@code columns} values. */
    public static int groupsPerRow(int columns, int group) {
        return (columns + group - 1) / group;
    }

    /**
     * Quantizes {@code rows} rows of {@code columns} values from {@code weights} into {@code codes} (same layout)
     * and {@code scales} ({@code [rows, groupsPerRow]}). A group holding a NaN or an infinity gets a non-finite
     * scale (and codes that mean nothing), so callers can check the scales instead of every weight.
     */
    public static void quantize(float[] weights, int rows, int columns, int group, byte[] codes, float[] scales) {
        int groups = groupsPerRow(columns, group);
        for (int row = 0; row < rows; row++) {
            for (int index = 0; index < groups; index++) {
                int start = row * columns + index * group;
                int end = row * columns + Math.min(columns, (index + 1) * group);
                float scale = maximumMagnitude(weights, start, end) / MAX_CODE;
                scales[row * groups + index] = scale;
                if (scale == 0) {
                    Arrays.fill(codes, start, end, (byte) 0);
                }
                else {
                    encode(weights, start, end, scale, codes);
                }
            }
        }
    }

    /** The definition, one value at a time: the oracle {@link #quantize} must match byte for byte. */
    public static void quantizeScalar(float[] weights, int rows, int columns, int group, byte[] codes, float[] scales) {
        int groups = groupsPerRow(columns, group);
        for (int row = 0; row < rows; row++) {
            for (int index = 0; index < groups; index++) {
                int start = row * columns + index * group;
                int end = row * columns + Math.min(columns, (index + 1) * group);
                float maximum = 0;
                for (int i = start; i < end; i++) {
                    maximum = Math.max(maximum, Math.abs(weights[i]));
                }
                float scale = maximum / MAX_CODE;
                scales[row * groups + index] = scale;
                for (int i = start; i < end; i++) {
                    codes[i] = scale == 0 ? 0 : code(weights[i] / scale);
                }
            }
        }
    }

    /** {@code roundHalfEven(value)} clamped to ±127. */
    public static byte code(float value) {
        float rounded = (float) Math.rint(value);
        return (byte) Math.max(-MAX_CODE, Math.min(MAX_CODE, rounded));
    }

    /** {@code max |w|} over {@code [start, end)}, NaN if any value is NaN (as {@link Math#max}). */
    private static float maximumMagnitude(float[] weights, int start, int end) {
        FloatVector maximum = FloatVector.zero(SPECIES);
        int i = start;
        int upperBound = start + SPECIES.loopBound(end - start);
        for (; i < upperBound; i += SPECIES.length()) {
            maximum = maximum.max(FloatVector.fromArray(SPECIES, weights, i).abs());
        }
        float result = maximum.reduceLanes(VectorOperators.MAX);
        for (; i < end; i++) {
            result = Math.max(result, Math.abs(weights[i]));
        }
        return result;
    }

    private static void encode(float[] weights, int start, int end, float scale, byte[] codes) {
        FloatVector divisor = FloatVector.broadcast(SPECIES, scale);
        int i = start;
        int upperBound = start + SPECIES.loopBound(end - start);
        for (; i < upperBound; i += SPECIES.length()) {
            FloatVector quotient = FloatVector.fromArray(SPECIES, weights, i).div(divisor);
            FloatVector rounded = quotient.add(ROUNDING).sub(ROUNDING).max(-MAX_CODE).min(MAX_CODE);
            ((ByteVector) rounded.convertShape(VectorOperators.F2B, BYTE_SPECIES, 0)).intoArray(codes, i);
        }
        for (; i < end; i++) {
            codes[i] = code(weights[i] / scale);
        }
    }
}
