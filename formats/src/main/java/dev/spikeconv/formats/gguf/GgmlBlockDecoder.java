package dev.spikeconv.formats.gguf;

import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.FloatEncodings;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Dequantizes one GGML block into floats, following ggml's reference {@code dequantize_row_*} functions. */
final class GgmlBlockDecoder {
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private GgmlBlockDecoder() {}

    /** Decodes the block at {@code offset} into {@code type.elementsPerBlock()} floats at {@code out[outOffset]}. */
    static void decode(DType type, MemorySegment data, long offset, float[] out, int outOffset) {
        switch (type) {
            case Q4_0 -> decodeQ4_0(data, offset, out, outOffset);
            case Q4_1 -> decodeQ4_1(data, offset, out, outOffset);
            case Q5_0 -> decodeQ5_0(data, offset, out, outOffset);
            case Q5_1 -> decodeQ5_1(data, offset, out, outOffset);
            case Q8_0 -> decodeQ8_0(data, offset, out, outOffset);
            case Q4_K -> decodeQ4_K(data, offset, out, outOffset);
            case Q5_K -> decodeQ5_K(data, offset, out, outOffset);
            case Q6_K -> decodeQ6_K(data, offset, out, outOffset);
            case F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL ->
                    throw new IllegalArgumentException(type + " is not a block type");
        }
    }

    private static float half(MemorySegment data, long offset) {
        return FloatEncodings.halfToFloat(data.get(HALF, offset));
    }

    private static int unsignedByte(MemorySegment data, long offset) {
        return Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, offset));
    }

    // block_q4_0 { half d; u8 qs[16]; }: low nibbles are elements 0..15, high nibbles 16..31, offset by 8.
    private static void decodeQ4_0(MemorySegment data, long offset, float[] out, int outOffset) {
        float scale = half(data, offset);
        for (int j = 0; j < 16; j++) {
            int packed = unsignedByte(data, offset + 2 + j);
            out[outOffset + j] = ((packed & 0x0F) - 8) * scale;
            out[outOffset + j + 16] = ((packed >>> 4) - 8) * scale;
        }
    }

    // block_q4_1 { half d; half m; u8 qs[16]; }
    private static void decodeQ4_1(MemorySegment data, long offset, float[] out, int outOffset) {
        float scale = half(data, offset);
        float minimum = half(data, offset + 2);
        for (int j = 0; j < 16; j++) {
            int packed = unsignedByte(data, offset + 4 + j);
            out[outOffset + j] = (packed & 0x0F) * scale + minimum;
            out[outOffset + j + 16] = (packed >>> 4) * scale + minimum;
        }
    }

    // block_q5_0 { half d; u8 qh[4]; u8 qs[16]; }: qh holds the fifth bit of each element.
    private static void decodeQ5_0(MemorySegment data, long offset, float[] out, int outOffset) {
        float scale = half(data, offset);
        int highBits = data.get(INT, offset + 2);
        for (int j = 0; j < 16; j++) {
            int packed = unsignedByte(data, offset + 6 + j);
            int high0 = ((highBits >>> j) << 4) & 0x10;
            int high1 = (highBits >>> (j + 12)) & 0x10;
            out[outOffset + j] = (((packed & 0x0F) | high0) - 16) * scale;
            out[outOffset + j + 16] = (((packed >>> 4) | high1) - 16) * scale;
        }
    }

    // block_q5_1 { half d; half m; u8 qh[4]; u8 qs[16]; }
    private static void decodeQ5_1(MemorySegment data, long offset, float[] out, int outOffset) {
        float scale = half(data, offset);
        float minimum = half(data, offset + 2);
        int highBits = data.get(INT, offset + 4);
        for (int j = 0; j < 16; j++) {
            int packed = unsignedByte(data, offset + 8 + j);
            int high0 = ((highBits >>> j) << 4) & 0x10;
            int high1 = (highBits >>> (j + 12)) & 0x10;
            out[outOffset + j] = ((packed & 0x0F) | high0) * scale + minimum;
            out[outOffset + j + 16] = ((packed >>> 4) | high1) * scale + minimum;
        }
    }

    // block_q8_0 { half d; i8 qs[32]; }
    private static void decodeQ8_0(MemorySegment data, long offset, float[] out, int outOffset) {
        float scale = half(data, offset);
        for (int j = 0; j < 32; j++) {
            out[outOffset + j] = data.get(ValueLayout.JAVA_BYTE, offset + 2 + j) * scale;
        }
    }

    /** The 6-bit scale and minimum of sub-block {@code index} packed in the 12 bytes at {@code scales}. */
    private static int scaleK4(MemorySegment data, long scales, int index) {
        if (index < 4) {
            return unsignedByte(data, scales + index) & 63;
        }
        return (unsignedByte(data, scales + index + 4) & 0x0F) | ((unsignedByte(data, scales + index - 4) >>> 6) << 4);
    }

    private static int minimumK4(MemorySegment data, long scales, int index) {
        if (index < 4) {
            return unsignedByte(data, scales + index + 4) & 63;
        }
        return (unsignedByte(data, scales + index + 4) >>> 4) | ((unsignedByte(data, scales + index) >>> 6) << 4);
    }

    // block_q4_K { half d; half dmin; u8 scales[12]; u8 qs[128]; }: 8 sub-blocks of 32 with 6-bit scales and minimums.
    private static void decodeQ4_K(MemorySegment data, long offset, float[] out, int outOffset) {
        float scale = half(data, offset);
        float minimumScale = half(data, offset + 2);
        long scales = offset + 4;
        long quants = offset + 16;
        int y = outOffset;
        for (int j = 0, subBlock = 0; j < 256; j += 64, subBlock += 2, quants += 32) {
            float scale1 = scale * scaleK4(data, scales, subBlock);
            float minimum1 = minimumScale * minimumK4(data, scales, subBlock);
            float scale2 = scale * scaleK4(data, scales, subBlock + 1);
            float minimum2 = minimumScale * minimumK4(data, scales, subBlock + 1);
            for (int l = 0; l < 32; l++) {
                out[y++] = scale1 * (unsignedByte(data, quants + l) & 0x0F) - minimum1;
            }
            for (int l = 0; l < 32; l++) {
                out[y++] = scale2 * (unsignedByte(data, quants + l) >>> 4) - minimum2;
            }
        }
    }

    // block_q5_K { half d; half dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; }
    private static void decodeQ5_K(MemorySegment data, long offset, float[] out, int outOffset) {
        float scale = half(data, offset);
        float minimumScale = half(data, offset + 2);
        long scales = offset + 4;
        long highBits = offset + 16;
        long quants = offset + 48;
        int y = outOffset;
        int mask1 = 1;
        int mask2 = 2;
        for (int j = 0, subBlock = 0; j < 256; j += 64, subBlock += 2, quants += 32, mask1 <<= 2, mask2 <<= 2) {
            float scale1 = scale * scaleK4(data, scales, subBlock);
            float minimum1 = minimumScale * minimumK4(data, scales, subBlock);
            float scale2 = scale * scaleK4(data, scales, subBlock + 1);
            float minimum2 = minimumScale * minimumK4(data, scales, subBlock + 1);
            for (int l = 0; l < 32; l++) {
                int high = (unsignedByte(data, highBits + l) & mask1) != 0 ? 16 : 0;
                out[y++] = scale1 * ((unsignedByte(data, quants + l) & 0x0F) + high) - minimum1;
            }
            for (int l = 0; l < 32; l++) {
                int high = (unsignedByte(data, highBits + l) & mask2) != 0 ? 16 : 0;
                out[y++] = scale2 * ((unsignedByte(data, quants + l) >>> 4) + high) - minimum2;
            }
        }
    }

    // block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; half d; }: 6-bit values in two halves of 128.
    private static void decodeQ6_K(MemorySegment data, long offset, float[] out, int outOffset) {
        float scale = half(data, offset + 208);
        long low = offset;
        long high = offset + 128;
        long scales = offset + 192;
        for (int n = 0; n < 256; n += 128, low += 64, high += 32, scales += 8) {
            for (int l = 0; l < 32; l++) {
                int subBlock = l / 16;
                int highBits = unsignedByte(data, high + l);
                int q1 = ((unsignedByte(data, low + l) & 0x0F) | ((highBits & 3) << 4)) - 32;
                int q2 = ((unsignedByte(data, low + l + 32) & 0x0F) | (((highBits >>> 2) & 3) << 4)) - 32;
                int q3 = ((unsignedByte(data, low + l) >>> 4) | (((highBits >>> 4) & 3) << 4)) - 32;
                int q4 = ((unsignedByte(data, low + l + 32) >>> 4) | (((highBits >>> 6) & 3) << 4)) - 32;
                out[outOffset + n + l] = scale * data.get(ValueLayout.JAVA_BYTE, scales + subBlock) * q1;
                out[outOffset + n + l + 32] = scale * data.get(ValueLayout.JAVA_BYTE, scales + subBlock + 2) * q2;
                out[outOffset + n + l + 64] = scale * data.get(ValueLayout.JAVA_BYTE, scales + subBlock + 4) * q3;
                out[outOffset + n + l + 96] = scale * data.get(ValueLayout.JAVA_BYTE, scales + subBlock + 6) * q4;
            }
        }
    }
}
