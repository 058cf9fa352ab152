package dev.spikeconv.formats.tensor;

import java.util.Arrays;

/** Row-major dimensions of a tensor; the last dimension varies fastest. */
public record Shape(long[] dimensions) {
    public Shape {
        dimensions = dimensions.clone();
        for (long dimension : dimensions) {
            if (dimension < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dimensions));
            }
        }
    }

    public static Shape of(long... dimensions) {
        return new Shape(dimensions);
    }

    @Override
    public long[] dimensions() {
        return dimensions.clone();
    }

    public int rank() {
        return dimensions.length;
    }

    public long dimension(int index) {
        return dimensions[index];
    }

    /** Number of elements; overflow throws ArithmeticException. */
    public long elementCount() {
        long count = 1;
        for (long dimension : dimensions) {
            count = Math.multiplyExact(count, dimension);
        }
        return count;
    }

    /** The last dimension (1 for a scalar). */
    public long columns() {
        return dimensions.length == 0 ? 1 : dimensions[dimensions.length - 1];
    }

    /** Elements divided by the last dimension: the row count of the tensor viewed as a matrix. */
    public long rows() {
        long columns = columns();
        return columns == 0 ? 0 : elementCount() / columns;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Shape shape && Arrays.equals(dimensions, shape.dimensions);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dimensions);
    }

    @Override
    public String toString() {
        return Arrays.toString(dimensions);
    }
}
