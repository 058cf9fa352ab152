package dev.spikeconv.converter.quantization;

import dev.spikeconv.formats.hf.SpikingBrainNames;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.FloatEncodings;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * New values of a tensor in the form its bundle stores it: int8 codes and scales with the same group when it is int8,
 * otherwise its own float type, rounded to nearest even. What a model computes with after a fit is then exactly what
 * the bundle will hold, and writing it is a copy of bytes.
 */
public final class StoredForm {
    private StoredForm() {}

    /** {@code values} ({@code current}'s shape, row-major) stored like {@code current}. */
    public static TensorView like(TensorView current, float[] values) {
        Shape shape = current.shape();
        if (values.length != shape.elementCount()) {
            throw new IllegalArgumentException(current.name() + " has " + shape.elementCount() + " values, the new ones " + values.length);
        }
        for (float value : values) {
            if (!Float.isFinite(value)) {
                throw new IllegalStateException("a fit gave " + current.name() + " a non-finite value");
            }
        }
        if (current instanceof ScaledInt8Tensor int8) {
            int rows = Math.toIntExact(shape.dimension(0));
            int columns = Math.toIntExact(shape.dimension(1));
            int group = Math.min(int8.groupSize(), columns);
            int groups = Int8Quantizer.groupsPerRow(columns, group);
            byte[] codes = new byte[values.length];
            float[] scales = new float[rows * groups];
            Int8Quantizer.quantize(values, rows, columns, group, codes, scales);
            return new ScaledInt8Tensor(StoredTensor.ofBytes(current.name(), shape, codes),
                    StoredTensor.ofFloats(current.name() + SpikingBrainNames.SCALE_SUFFIX, Shape.of(rows, groups), scales), int8.groupSize());
        }
        return ofFloats(current.name(), current.dtype(), shape, values);
    }

    /**
     * {@code ‖values − stored‖ / ‖values‖}: how far the stored form of {@code values} (as {@link #like} made it) lies from
     * them; 0 for all-zero values.
     */
    public static double relativeError(TensorView stored, float[] values) {
        float[] decoded = new float[values.length];
        stored.readFloats(0, decoded, 0, values.length);
        double error = 0;
        double norm = 0;
        for (int i = 0; i < values.length; i++) {
            double difference = (double) values[i] - decoded[i];
            error += difference * difference;
            norm += (double) values[i] * values[i];
        }
        return norm == 0 ? 0 : Math.sqrt(error / norm);
    }

    /** {@code values} encoded as {@code type} (f32, f64, f16 or bf16). */
    public static StoredTensor ofFloats(String name, DType type, Shape shape, float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(Math.multiplyExact(values.length, type.elementSize())).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            FloatEncodings.put(bytes, type, value);
        }
        return new StoredTensor(name, type, shape, MemorySegment.ofArray(bytes.array()));
    }
}
