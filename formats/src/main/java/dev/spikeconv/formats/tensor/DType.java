package dev.spikeconv.formats.tensor;

import java.util.Optional;

/**
 * Storage types of tensor elements. Scalar types use their safetensors names; the block types are
 * GGML's, where a block of {@link #elementsPerBlock()} values shares its scales.
 */
public enum DType {
    F64(1, 8),
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    F8_E4M3(1, 1),
    F8_E5M2(1, 1),
    I64(1, 8),
    I32(1, 4),
    I16(1, 2),
    I8(1, 1),
    U8(1, 1),
    BOOL(1, 1),
    Q4_0(32, 18),
    Q4_1(32, 20),
    Q5_0(32, 22),
    Q5_1(32, 24),
    Q8_0(32, 34),
    Q4_K(256, 144),
    Q5_K(256, 176),
    Q6_K(256, 210);

    private final int elementsPerBlock;
    private final int bytesPerBlock;

    DType(int elementsPerBlock, int bytesPerBlock) {
        this.elementsPerBlock = elementsPerBlock;
        this.bytesPerBlock = bytesPerBlock;
    }

    public int elementsPerBlock() {
        return elementsPerBlock;
    }

    public int bytesPerBlock() {
        return bytesPerBlock;
    }

    public boolean isBlockQuantized() {
        return elementsPerBlock > 1;
    }

    /** Bytes of one element; only for scalar types. */
    public int elementSize() {
        if (isBlockQuantized()) {
            throw new IllegalStateException(this + " stores blocks of " + elementsPerBlock + " elements");
        }
        return bytesPerBlock;
    }

    /** Whether {@code elements} values fill whole blocks. */
    public boolean fillsBlocks(long elements) {
        return elements % elementsPerBlock == 0;
    }

    /** Bytes that {@code elements} values occupy; they must fill whole blocks. Overflow throws ArithmeticException. */
    public long byteSize(long elements) {
        if (!fillsBlocks(elements)) {
            throw new IllegalArgumentException(elements + " elements do not fill whole " + this + " blocks of " + elementsPerBlock);
        }
        return Math.multiplyExact(elements / elementsPerBlock, (long) bytesPerBlock);
    }

    /** The scalar type that a safetensors header names, e.g. {@code "BF16"}. */
    public static Optional<DType> fromSafetensorsName(String name) {
        for (DType type : values()) {
            if (!type.isBlockQuantized() && type.name().equals(name)) {
                return Optional.of(type);
            }
        }
        return Optional.empty();
    }
}
