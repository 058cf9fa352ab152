package dev.spikeconv.formats.tensor;

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
