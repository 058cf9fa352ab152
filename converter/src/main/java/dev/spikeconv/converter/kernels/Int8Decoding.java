package dev.spikeconv.converter.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** int8 codes widened to float32, optionally times one scale, a vector at a time beside the scalar definition. */
public final class Int8Decoding {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    /** As many bytes as {@link #FLOATS} has lanes, so one load widens into one float vector. */
    private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(FLOATS.length() * Byte.SIZE));

    private Int8Decoding() {}

    /** {@code destination[offset + i] = codes[byteOffset + i] · scale} for {@code i < length}; exact for scale 1. */
    public static void decode(MemorySegment codes, long byteOffset, float scale, float[] destination, int offset, int length) {
        FloatVector factor = FloatVector.broadcast(FLOATS, scale);
        int i = 0;
        int bound = FLOATS.loopBound(length);
        for (; i < bound; i += FLOATS.length()) {
            FloatVector widened = (FloatVector) ByteVector.fromMemorySegment(BYTES, codes, byteOffset + i, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, FLOATS, 0);
            widened.mul(factor).intoArray(destination, offset + i);
        }
        for (; i < length; i++) {
            destination[offset + i] = codes.get(ValueLayout.JAVA_BYTE, byteOffset + i) * scale;
        }
    }

    /** The definition {@link #decode} must match bit for bit. */
    public static void decodeScalar(MemorySegment codes, long byteOffset, float scale, float[] destination, int offset, int length) {
        for (int i = 0; i < length; i++) {
            destination[offset + i] = codes.get(ValueLayout.JAVA_BYTE, byteOffset + i) * scale;
        }
    }
}
