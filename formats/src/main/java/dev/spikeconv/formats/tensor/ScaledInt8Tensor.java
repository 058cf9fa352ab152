package dev.spikeconv.formats.tensor;

import java.util.Objects;

/**
 * A weight stored as int8 codes with one float32 scale per output row and input group:
 * {@code w[i][j] = codes[i][j] * scales[i][j / groupSize]}. The last group of a row may be shorter.
 */
public final class ScaledInt8Tensor implements TensorView {
    private final StoredTensor codes;
    private final StoredTensor scales;
    private final int groupSize;

    public ScaledInt8Tensor(StoredTensor codes, StoredTensor scales, int groupSize) {
        this.codes = Objects.requireNonNull(codes);
        this.scales = Objects.requireNonNull(scales);
        this.groupSize = groupSize;
        if (codes.dtype() != DType.I8 || codes.shape().rank() != 2) {
            throw new IllegalArgumentException(codes.name() + ": codes must be a 2-d I8 tensor, found " + codes.dtype() + " " + codes.shape());
        }
        if (groupSize <= 0) {
            throw new IllegalArgumentException("group size " + groupSize);
        }
        Shape expected = expectedScaleShape(codes.shape(), groupSize);
        if (scales.dtype() != DType.F32 || !scales.shape().equals(expected)) {
            throw new IllegalArgumentException(scales.name() + ": expected F32 " + expected + ", found " + scales.dtype() + " " + scales.shape());
        }
    }

    /** {@code [rows, ceil(columns / groupSize)]}. */
    public static Shape expectedScaleShape(Shape weightShape, int groupSize) {
        long columns = weightShape.columns();
        return Shape.of(weightShape.rows(), (columns + groupSize - 1) / groupSize);
    }

    public StoredTensor codes() {
        return codes;
    }

    public StoredTensor scales() {
        return scales;
    }

    public int groupSize() {
        return groupSize;
    }

    @Override
    public String name() {
        return codes.name();
    }

    @Override
    public DType dtype() {
        return DType.I8;
    }

    @Override
    public Shape shape() {
        return codes.shape();
    }

    @Override
    public long byteSize() {
        return codes.byteSize() + scales.byteSize();
    }

    @Override
    public void readFloats(long firstElement, float[] destination, int destinationOffset, int length) {
        codes.readFloats(firstElement, destination, destinationOffset, length);
        long columns = codes.shape().columns();
        long scaleColumns = scales.shape().columns();
        float[] scale = new float[1];
        for (int i = 0; i < length; i++) {
            long element = firstElement + i;
            long row = element / columns;
            long group = (element % columns) / groupSize;
            scales.readFloats(row * scaleColumns + group, scale, 0, 1);
            destination[destinationOffset + i] *= scale[0];
        }
    }

    @Override
    public String toString() {
        return codes.name() + " I8 " + codes.shape() + " group " + groupSize;
    }
}
