package dev.spikeconv.formats.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Decodes runs of little-endian bfloat16 into float32: each value's 16 bits become the upper half of a float, exactly.
 * The vector loop beside its scalar definition; conversion reads most of a checkpoint through it.
 */
public final class Bfloat16Decoding {
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    /** As many shorts as {@link #INTS} has lanes, so one load widens into one int vector. */
    private static final VectorSpecies<Short> SHORTS = VectorSpecies.of(short.class, VectorShape.forBitSize(INTS.vectorBitSize() / 2));

    private Bfloat16Decoding() {}

    /** {@code length} values from {@code source} at {@code byteOffset} into {@code destination} from {@code destinationOffset}. */
    public static void decode(MemorySegment source, long byteOffset, float[] destination, int destinationOffset, int length) {
        int i = 0;
        int bound = INTS.loopBound(length);
        for (; i < bound; i += INTS.length()) {
            ShortVector bits = ShortVector.fromMemorySegment(SHORTS, source, byteOffset + 2L * i, ByteOrder.LITTLE_ENDIAN);
            // Sign extension fills the upper half, which the shift then discards.
            IntVector widened = (IntVector) bits.convertShape(VectorOperators.S2I, INTS, 0);
            widened.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(destination, destinationOffset + i);
        }
        for (; i < length; i++) {
            destination[destinationOffset + i] = FloatEncodings.bfloat16ToFloat(source.get(SHORT, byteOffset + 2L * i));
        }
    }

    /** The definition {@link #decode} must match bit for bit. */
    public static void decodeScalar(MemorySegment source, long byteOffset, float[] destination, int destinationOffset, int length) {
        for (int i = 0; i < length; i++) {
            destination[destinationOffset + i] = FloatEncodings.bfloat16ToFloat(source.get(SHORT, byteOffset + 2L * i));
        }
    }
}
