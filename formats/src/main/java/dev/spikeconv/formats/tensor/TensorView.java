package dev.spikeconv.formats.tensor;

/**
 * A lazily read tensor: a name, a storage type, a shape, and float values read on demand from the
 * mapped file. Integer and quantized storage is converted to float when read.
 */
public interface TensorView {
    String name();

    /** How the elements are stored in the file. */
    DType dtype();

    Shape shape();

    /** Bytes the tensor occupies in its file(s). */
    long byteSize();

    /** Reads {@code length} elements, in row-major order from {@code firstElement}, into {@code destination}. */
    void readFloats(long firstElement, float[] destination, int destinationOffset, int length);

    /** All elements as floats; only for tensors below 2^31 elements. */
    default float[] toFloats() {
        long count = shape().elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(name() + " has " + count + " elements, too many for one array");
        }
        float[] values = new float[(int) count];
        readFloats(0, values, 0, values.length);
        return values;
    }

    /** One row of the tensor viewed as a [rows, columns] matrix. */
    default void readRow(long row, float[] destination) {
        long columns = shape().columns();
        readFloats(Math.multiplyExact(row, columns), destination, 0, Math.toIntExact(columns));
    }
}
