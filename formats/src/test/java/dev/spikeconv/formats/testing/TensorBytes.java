package dev.spikeconv.formats.testing;

import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.FloatEncodings;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Float values encoded little-endian in a float storage type, as checkpoint files hold them. */
public final class TensorBytes {
    private TensorBytes() {}

    public static byte[] encode(float[] values, DType dtype) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * dtype.elementSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            switch (dtype) {
                case F32 -> buffer.putFloat(value);
                case F64 -> buffer.putDouble(value);
                case F16 -> buffer.putShort(FloatEncodings.floatToHalf(value));
                case BF16 -> buffer.putShort(FloatEncodings.floatToBfloat16(value));
                case F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K ->
                        throw new IllegalArgumentException("test encoder has no " + dtype);
            }
        }
        return buffer.array();
    }

    /** The float each value becomes after a round trip through {@code dtype}. */
    public static float[] rounded(float[] values, DType dtype) {
        float[] result = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            result[i] = switch (dtype) {
                case F32 -> values[i];
                case F64 -> (float) (double) values[i];
                case F16 -> FloatEncodings.halfToFloat(FloatEncodings.floatToHalf(values[i]));
                case BF16 -> FloatEncodings.bfloat16ToFloat(FloatEncodings.floatToBfloat16(values[i]));
                case F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K ->
                        throw new IllegalArgumentException("test encoder has no " + dtype);
            };
        }
        return result;
    }
}
