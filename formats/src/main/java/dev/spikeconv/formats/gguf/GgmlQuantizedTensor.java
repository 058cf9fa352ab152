package dev.spikeconv.formats.gguf;

import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** A GGML block-quantized tensor, dequantized block by block when read. Rows hold whole blocks. */
final class GgmlQuantizedTensor implements TensorView {
    private final String name;
    private final DType dtype;
    private final Shape shape;
    private final MemorySegment data;

    GgmlQuantizedTensor(String name, DType dtype, Shape shape, MemorySegment data) {
        if (!dtype.isBlockQuantized() || shape.columns() % dtype.elementsPerBlock() != 0
                || data.byteSize() != dtype.byteSize(shape.elementCount())) {
            throw new IllegalArgumentException(name + ": " + dtype + " " + shape + " in " + data.byteSize() + " bytes");
        }
        this.name = name;
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
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

    @Override
    public void readFloats(long firstElement, float[] destination, int destinationOffset, int length) {
        Objects.checkFromIndexSize(firstElement, length, shape.elementCount());
        Objects.checkFromIndexSize(destinationOffset, length, destination.length);
        int blockElements = dtype.elementsPerBlock();
        float[] block = new float[blockElements];
        long element = firstElement;
        int written = 0;
        while (written < length) {
            long blockIndex = element / blockElements;
            int within = (int) (element % blockElements);
            int chunk = Math.min(length - written, blockElements - within);
            if (within == 0 && chunk == blockElements) {
                GgmlBlockDecoder.decode(dtype, data, blockIndex * dtype.bytesPerBlock(), destination, destinationOffset + written);
            }
            else {
                GgmlBlockDecoder.decode(dtype, data, blockIndex * dtype.bytesPerBlock(), block, 0);
                System.arraycopy(block, within, destination, destinationOffset + written, chunk);
            }
            written += chunk;
            element += chunk;
        }
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + shape;
    }
}
