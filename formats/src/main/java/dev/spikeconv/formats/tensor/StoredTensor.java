package dev.spikeconv.formats.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import java.util.Optional;

/** A tensor of a scalar type stored little-endian and contiguous in a (mapped) segment. */
public final class StoredTensor implements TensorView {
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String name;
    private final DType dtype;
    private final Shape shape;
    private final MemorySegment data;
    private final FileRegion fileRegion;

    /** The caller has checked that {@code data} holds exactly the tensor's bytes. */
    public StoredTensor(String name, DType dtype, Shape shape, MemorySegment data) {
        this(name, dtype, shape, data, null);
    }

    /** A tensor whose bytes {@code data} are also found unchanged at {@code fileRegion} (null when they are not in a file). */
    public StoredTensor(String name, DType dtype, Shape shape, MemorySegment data, FileRegion fileRegion) {
        this.fileRegion = fileRegion;
        this.name = Objects.requireNonNull(name);
        this.dtype = Objects.requireNonNull(dtype);
        this.shape = Objects.requireNonNull(shape);
        this.data = Objects.requireNonNull(data);
        if (dtype.isBlockQuantized()) {
            throw new IllegalArgumentException(name + ": " + dtype + " is block-quantized");
        }
        long expected = dtype.byteSize(shape.elementCount());
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + expected + " expected");
        }
    }

    /** A float32 tensor held in memory (fitted or generated values). */
    public static StoredTensor ofFloats(String name, Shape shape, float[] values) {
        MemorySegment data = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, 4)]);
        MemorySegment.copy(values, 0, data, FLOAT, 0, values.length);
        return new StoredTensor(name, DType.F32, shape, data);
    }

    /** An int8 tensor held in memory. */
    public static StoredTensor ofBytes(String name, Shape shape, byte[] values) {
        return new StoredTensor(name, DType.I8, shape, MemorySegment.ofArray(values.clone()));
    }

    /** An int32 tensor held in memory. */
    public static StoredTensor ofInts(String name, Shape shape, int[] values) {
        MemorySegment data = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, 4)]);
        MemorySegment.copy(values, 0, data, INT, 0, values.length);
        return new StoredTensor(name, DType.I32, shape, data);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public Shape shape() {
        return shape;
    }

    @Override
    public long byteSize() {
        return data.byteSize();
    }

    /** The stored bytes, for copying the tensor unchanged. */
    public MemorySegment data() {
        return data;
    }

    /** Where the stored bytes can be read from a file without decoding, for writers that reference rather than copy them. */
    public Optional<FileRegion> fileRegion() {
        return Optional.ofNullable(fileRegion);
    }

    /** The same bytes under another name and shape of equal element count. */
    public StoredTensor reshaped(String newName, Shape newShape) {
        return new StoredTensor(newName, dtype, newShape, data, fileRegion);
    }

    @Override
    public void readFloats(long firstElement, float[] destination, int destinationOffset, int length) {
        Objects.checkFromIndexSize(firstElement, length, shape.elementCount());
        Objects.checkFromIndexSize(destinationOffset, length, destination.length);
        long offset = firstElement * dtype.elementSize();
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, FLOAT, offset, destination, destinationOffset, length);
            case F64 -> {
                for (int i = 0; i < length; i++) {
                    destination[destinationOffset + i] = (float) data.get(DOUBLE, offset + 8L * i);
                }
            }
            case F16 -> {
                for (int i = 0; i < length; i++) {
                    destination[destinationOffset + i] = FloatEncodings.halfToFloat(data.get(SHORT, offset + 2L * i));
                }
            }
            case BF16 -> Bfloat16Decoding.decode(data, offset, destination, destinationOffset, length);
            case F8_E4M3 -> {
                for (int i = 0; i < length; i++) {
                    destination[destinationOffset + i] = FloatEncodings.e4m3ToFloat(data.get(ValueLayout.JAVA_BYTE, offset + i));
                }
            }
            case F8_E5M2 -> {
                for (int i = 0; i < length; i++) {
                    destination[destinationOffset + i] = FloatEncodings.e5m2ToFloat(data.get(ValueLayout.JAVA_BYTE, offset + i));
                }
            }
            case I64 -> {
                for (int i = 0; i < length; i++) {
                    destination[destinationOffset + i] = data.get(LONG, offset + 8L * i);
                }
            }
            case I32 -> {
                for (int i = 0; i < length; i++) {
                    destination[destinationOffset + i] = data.get(INT, offset + 4L * i);
                }
            }
            case I16 -> {
                for (int i = 0; i < length; i++) {
                    destination[destinationOffset + i] = data.get(SHORT, offset + 2L * i);
                }
            }
            case I8 -> {
                for (int i = 0; i < length; i++) {
                    destination[destinationOffset + i] = data.get(ValueLayout.JAVA_BYTE, offset + i);
                }
            }
            case U8, BOOL -> {
                for (int i = 0; i < length; i++) {
                    destination[destinationOffset + i] = Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, offset + i));
                }
            }
            case Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K -> throw new AssertionError("refused by the constructor");
        }
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + shape;
    }
}
