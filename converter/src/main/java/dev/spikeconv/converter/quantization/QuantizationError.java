package dev.spikeconv.converter.quantization;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * How far int8 codes and scales ({@link Int8Quantizer}'s layout) lie from the weights they encode: the sums
 * {@code Σ (w − code·scale)²} and {@code Σ w²}, whose ratio's square root is a tensor's relative quantization error.
 * {@link #sums} (Vector API) and its oracle {@link #sumsScalar} compute each term alike in float; they differ only in the
 * order the terms are added (float lanes per group, then double, against double throughout).
 */
public final class QuantizationError {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> BYTE_SPECIES = VectorSpecies.of(byte.class, VectorShape.forBitSize(SPECIES.length() * Byte.SIZE));

    private QuantizationError() {}

    /** The two sums of a tensor, added up over its row blocks. */
    public record Sums(double squaredError, double squaredNorm) {
        public static final Sums ZERO = new Sums(0, 0);

        public Sums plus(Sums other) {
            return new Sums(squaredError + other.squaredError, squaredNorm + other.squaredNorm);
        }

        /** {@code ‖w − ŵ‖ / ‖w‖}; 0 for an all-zero tensor (its codes are exact). */
        public double relative() {
            return squaredNorm == 0 ? 0 : Math.sqrt(squaredError / squaredNorm);
        }
    }

    /** The sums over {@code rows} rows of {@code columns} weights, their codes (same layout) and scales ({@code [rows, groups]}). */
    public static Sums sums(float[] weights, byte[] codes, float[] scales, int rows, int columns, int group) {
        int groups = Int8Quantizer.groupsPerRow(columns, group);
        double error = 0;
        double norm = 0;
        for (int row = 0; row < rows; row++) {
            for (int index = 0; index < groups; index++) {
                int start = row * columns + index * group;
                int end = row * columns + Math.min(columns, (index + 1) * group);
                float scale = scales[row * groups + index];
                FloatVector scaleVector = FloatVector.broadcast(SPECIES, scale);
                FloatVector groupError = FloatVector.zero(SPECIES);
                FloatVector groupNorm = FloatVector.zero(SPECIES);
                int i = start;
                int upperBound = start + SPECIES.loopBound(end - start);
                for (; i < upperBound; i += SPECIES.length()) {
                    FloatVector w = FloatVector.fromArray(SPECIES, weights, i);
                    FloatVector decoded = ((FloatVector) ByteVector.fromArray(BYTE_SPECIES, codes, i).convertShape(VectorOperators.B2F, SPECIES, 0))
                            .mul(scaleVector);
                    FloatVector difference = w.sub(decoded);
                    groupError = difference.fma(difference, groupError);
                    groupNorm = w.fma(w, groupNorm);
                }
                double tailError = 0;
                double tailNorm = 0;
                for (; i < end; i++) {
                    float difference = weights[i] - codes[i] * scale;
                    tailError += (double) difference * difference;
                    tailNorm += (double) weights[i] * weights[i];
                }
                error += groupError.reduceLanes(VectorOperators.ADD) + tailError;
                norm += groupNorm.reduceLanes(VectorOperators.ADD) + tailNorm;
            }
        }
        return new Sums(error, norm);
    }

    /** The definition, one weight at a time in double: the oracle of {@link #sums}. */
    public static Sums sumsScalar(float[] weights, byte[] codes, float[] scales, int rows, int columns, int group) {
        int groups = Int8Quantizer.groupsPerRow(columns, group);
        double error = 0;
        double norm = 0;
        for (int row = 0; row < rows; row++) {
            for (int column = 0; column < columns; column++) {
                int i = row * columns + column;
                float difference = weights[i] - codes[i] * scales[row * groups + column / group];
                error += (double) difference * difference;
                norm += (double) weights[i] * weights[i];
            }
        }
        return new Sums(error, norm);
    }
}
