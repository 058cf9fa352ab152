package dev.spikeconv.formats.tensor;

import java.util.Objects;

/**
 * A tensor whose row {@code r} is row {@code sourceRows[r]} of another, where a row is
 * {@code elements / sourceRows.length} consecutive elements (one element of a vector). Used to undo
 * the interleaved-pair RoPE order of GGUF and llama2.c q/k projections without copying them.
 */
public final class RowPermutedTensor implements TensorView {
    private final TensorView source;
    private final int[] sourceRows;
    private final long rowLength;

    public RowPermutedTensor(TensorView source, int[] sourceRows) {
        this.source = Objects.requireNonNull(source);
        long elements = source.shape().elementCount();
        if (sourceRows.length == 0 || elements % sourceRows.length != 0) {
            throw new IllegalArgumentException(source.name() + " has " + elements + " elements, not rows of " + sourceRows.length);
        }
        this.sourceRows = sourceRows.clone();
        this.rowLength = elements / sourceRows.length;
    }

    /**
     * The permutation that turns interleaved-pair rows (dimension pairs 2i, 2i+1 adjacent) into the
     * rotate-half layout of Hugging Face (first halves, then second halves), head by head.
     */
    public static int[] interleavedToRotateHalf(int heads, int headDimension) {
        if (headDimension % 2 != 0) {
            throw new IllegalArgumentException("odd head dimension " + headDimension);
        }
        int half = headDimension / 2;
        int[] rows = new int[heads * headDimension];
        for (int head = 0; head < heads; head++) {
            for (int part = 0; part < 2; part++) {
                for (int pair = 0; pair < half; pair++) {
                    rows[head * headDimension + part * half + pair] = head * headDimension + 2 * pair + part;
                }
            }
        }
        return rows;
    }

    public TensorView source() {
        return source;
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
        return source.shape();
    }

    @Override
    public long byteSize() {
        return source.byteSize();
    }

    @Override
    public void readFloats(long firstElement, float[] destination, int destinationOffset, int length) {
        Objects.checkFromIndexSize(firstElement, length, shape().elementCount());
        long element = firstElement;
        int written = 0;
        while (written < length) {
            long row = element / rowLength;
            long column = element % rowLength;
            int chunk = (int) Math.min(length - written, rowLength - column);
            source.readFloats(sourceRows[(int) row] * rowLength + column, destination, destinationOffset + written, chunk);
            written += chunk;
            element += chunk;
        }
    }

    @Override
    public String toString() {
        return source + " (rows permuted)";
    }
}
