package dev.spikeconv.converter.kernels;

/**
 * A weight matrix {@code [rows, columns]} read in its stored form (float32, bfloat16, float16, int8 codes with scales,
 * ...) and decoded block by block for {@link MatrixMultiply}: the whole matrix is never held as floats.
 */
public interface WeightRows {
    int rows();

    int columns();

    /**
     * Decodes columns {@code [firstColumn, firstColumn + columnCount)} of row {@code row} into {@code destination} from
     * {@code offset}, as float32 values of the weight.
     */
    void decode(int row, int firstColumn, int columnCount, float[] destination, int offset);

    /** A plain float32 matrix held in memory, row-major. */
    static WeightRows of(float[] values, int rows, int columns) {
        if (values.length != (long) rows * columns) {
            throw new IllegalArgumentException(values.length + " values for a [" + rows + ", " + columns + "] matrix");
        }
        return new WeightRows() {
            @Override
            public int rows() {
                return rows;
            }

            @Override
            public int columns() {
                return columns;
            }

            @Override
            public void decode(int row, int firstColumn, int columnCount, float[] destination, int offset) {
                System.arraycopy(values, row * columns + firstColumn, destination, offset, columnCount);
            }
        };
    }
}
