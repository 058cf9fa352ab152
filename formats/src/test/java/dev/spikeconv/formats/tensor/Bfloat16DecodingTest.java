package dev.spikeconv.formats.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Bfloat16DecodingTest {
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void everyBitPatternDecodesToTheFloatWithThoseUpperBits() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = arena.allocate(2L * 65536);
            for (int bits = 0; bits < 65536; bits++) {
                all.set(SHORT, 2L * bits, (short) bits);
            }
            float[] decoded = new float[65536];
            Bfloat16Decoding.decode(all, 0, decoded, 0, decoded.length);
            for (int bits = 0; bits < 65536; bits++) {
                // Raw bits: NaN payloads and signed zeros must survive too.
                assertThat(Float.floatToRawIntBits(decoded[bits])).as("bits %04x", bits).isEqualTo(bits << 16);
            }
        }
    }

    /**
     * Random runs at odd byte offsets, destination offsets and lengths (so loop tails of every size occur), enough calls
     * that the JIT compiles the vector loop: the result equals the scalar definition bit for bit.
     */
    @Test
    void vectorLoopMatchesTheScalarDefinition() {
        SplittableRandom random = new SplittableRandom(16);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment source = arena.allocate(1 << 16);
            for (long offset = 0; offset < source.byteSize(); offset++) {
                source.set(ValueLayout.JAVA_BYTE, offset, (byte) random.nextInt());
            }
            float[] vector = new float[4096];
            float[] scalar = new float[4096];
            for (int trial = 0; trial < 20_000; trial++) {
                int length = random.nextInt(1, 3000);
                int destinationOffset = random.nextInt(vector.length - length + 1);
                long byteOffset = random.nextLong(source.byteSize() - 2L * length + 1);
                Bfloat16Decoding.decode(source, byteOffset, vector, destinationOffset, length);
                Bfloat16Decoding.decodeScalar(source, byteOffset, scalar, destinationOffset, length);
                for (int i = destinationOffset; i < destinationOffset + length; i++) {
                    if (Float.floatToRawIntBits(vector[i]) != Float.floatToRawIntBits(scalar[i])) {
                        assertThat(Float.floatToRawIntBits(vector[i])).as("trial %d, offset %d, length %d, element %d", trial, byteOffset, length, i - destinationOffset)
                                .isEqualTo(Float.floatToRawIntBits(scalar[i]));
                    }
                }
            }
        }
    }
}
