package dev.spikeconv.formats.tensor;

/**
 * A {@code [rows, columns]} matrix read as {@code [rows, paddedColumns]}, each row followed by zeros: a hybrid layer's
 * {@code o_proj} starts as the source's, with zero columns for the heads of its linear branch.
 */
public record ZeroPaddedColumnsTensor(TensorView source, long paddedColumns) implements TensorView {
    public ZeroPaddedColumnsTensor {
        if (source.shape().rank() != 2 || paddedColumns < source.shape().columns()) {
            throw new IllegalArgumentException(source.name() + ": cannot pad " + source.shape() + " to " + paddedColumns + " columns");
        }
    }

    @Override
    public String name() {
        return source.name();
    }

    @Override
    public DType dtype() {
        return source.dtype();
    }

    @Override
    public Shape shape() {
        return Shape.of(source.shape().dimension(0), paddedColumns);
    }

    @Override
    public long byteSize() {
        return source.byteSize() / source.shape().columns() * paddedColumns;
    }

    @Override
    public void readFloats(long firstElement, float[] destination, int destinationOffset, int length) {
        long columns = source.shape().columns();
        int written = 0;
        while (written < length) {
            long element = firstElement + written;
            long row = element / paddedColumns;
            long column = element % paddedColumns;
            int run = (int) Math.min(length - written, paddedColumns - column);
            int fromSource = (int) Math.max(0, Math.min(run, columns - column));
            if (fromSource > 0) {
                source.readFloats(row * columns + column, destination, destinationOffset + written, fromSource);
            }
            java.util.Arrays.fill(destination, destinationOffset + written + fromSource, destinationOffset + written + run, 0f);
            written += run;
        }
    }
}
