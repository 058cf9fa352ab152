package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.kernels.Int8Decoding;
import dev.spikeconv.converter.kernels.WeightRows;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A model's weight matrix as {@link WeightRows}, read from where the tensor lies (a mapped file, or memory for fitted
 * values) in its stored dtype: float32 copied, bfloat16 and int8 widened by vector loops, everything else through the
 * tensor's own reader. Nothing is decoded before a product asks for it, and nothing decoded is kept.
 */
public final class TensorRows {
    private static final ValueLayout.OfFloat SCALE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TensorRows() {}

    /** The weight values, {@code code · scale} for int8 tensors. */
    public static WeightRows of(TensorView tensor) {
        int rows = Math.toIntExact(tensor.shape().dimension(0));
        int columns = Math.toIntExact(tensor.shape().columns());
        if (tensor instanceof ScaledInt8Tensor int8) {
            return scaled(int8, rows, columns);
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
                tensor.readFloats((long) row * columns + firstColumn, destination, offset, columnCount);
            }
        };
    }

    /** The int8 codes alone, as exact float values: the integer products of spiking projections scale their sums themselves. */
    static WeightRows codes(ScaledInt8Tensor tensor) {
        int rows = Math.toIntExact(tensor.shape().dimension(0));
        int columns = Math.toIntExact(tensor.shape().columns());
        MemorySegment codes = tensor.codes().data();
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
                Int8Decoding.decode(codes, (long) row * columns + firstColumn, 1f, destination, offset, columnCount);
            }
        };
    }

    private static WeightRows scaled(ScaledInt8Tensor tensor, int rows, int columns) {
        MemorySegment codes = tensor.codes().data();
        MemorySegment scales = tensor.scales().data();
        int group = Math.min(tensor.groupSize(), columns);
        int groups = Math.toIntExact(tensor.scales().shape().columns());
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
                int end = firstColumn + columnCount;
                for (int column = firstColumn; column < end; ) {
                    int index = column / group;
                    int spanEnd = Math.min(end, (index + 1) * group);
                    float scale = scales.get(SCALE, 4L * ((long) row * groups + index));
                    Int8Decoding.decode(codes, (long) row * columns + column, scale, destination, offset + column - firstColumn, spanEnd - column);
                    column = spanEnd;
                }
            }
        };
    }
}
