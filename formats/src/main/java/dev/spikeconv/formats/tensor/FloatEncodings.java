package dev.spikeconv.formats.tensor;

import java.nio.ByteBuffer;

/** Conversions between float32 and the narrower float encodings that checkpoints store. */
public final class FloatEncodings {
    private static final float[] E4M3_VALUES = new float[256];
    private static final float[] E5M2_VALUES = new float[256];

    static {
        for (int code = 0; code < 256; code++) {
            E4M3_VALUES[code] = decodeE4M3(code);
            // E5M2 is the upper byte of an IEEE half with the same exponent bias.
            E5M2_VALUES[code] = Float.float16ToFloat((short) (code << 8));
        }
    }

    private FloatEncodings() {}

    public static float halfToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** Round to nearest even, as torch and numpy do. */
    public static short floatToHalf(float value) {
        return Float.floatToFloat16(value);
    }

    public static float bfloat16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Round to nearest even; NaN stays a quiet NaN. */
    public static short floatToBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    /**
     * Appends {@code value} to {@code bytes} (little-endian) in the float encoding {@code type}: f32, f64, f16 or bf16,
     * rounded to nearest even. Other types are not float encodings one writes values in.
     */
    public static void put(ByteBuffer bytes, DType type, float value) {
        switch (type) {
            case F32 -> bytes.putFloat(value);
            case F64 -> bytes.putDouble(value);
            case F16 -> bytes.putShort(floatToHalf(value));
            case BF16 -> bytes.putShort(floatToBfloat16(value));
            case F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K ->
                    throw new IllegalArgumentException("values are not written as " + type);
        }
    }

    /** {@code value} rounded to what {@code type} (f32, f64, f16 or bf16) stores. */
    public static float roundTo(DType type, float value) {
        return switch (type) {
            case F32, F64 -> value;
            case F16 -> halfToFloat(floatToHalf(value));
            case BF16 -> bfloat16ToFloat(floatToBfloat16(value));
            case F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K ->
                    throw new IllegalArgumentException("values are not stored as " + type);
        };
    }

    /** float8 e4m3 "fn" (no infinities; S.1111.111 is NaN), as in safetensors F8_E4M3. */
    public static float e4m3ToFloat(byte bits) {
        return E4M3_VALUES[bits & 0xFF];
    }

    /** float8 e5m2, IEEE-like with infinities, as in safetensors F8_E5M2. */
    public static float e5m2ToFloat(byte bits) {
        return E5M2_VALUES[bits & 0xFF];
    }

    private static float decodeE4M3(int code) {
        float sign = (code & 0x80) != 0 ? -1f : 1f;
        int exponent = (code >>> 3) & 0x0F;
        int mantissa = code & 0x07;
        if (exponent == 0x0F && mantissa == 0x07) {
            return Float.NaN;
        }
        if (exponent == 0) {
            return sign * Math.scalb(mantissa / 8f, -6);
        }
        return sign * Math.scalb(1f + mantissa / 8f, exponent - 7);
    }
}
