package dev.spikeconv.formats.gguf;

import static dev.spikeconv.formats.testing.InputErrors.assertInvalid;
import static dev.spikeconv.formats.testing.InputErrors.assertLoadsOrRefuses;

import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.testing.GgufTestWriter;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MalformedGgufTest {
    @TempDir
    Path directory;

    private Path file(byte[] bytes) throws IOException {
        return Files.write(directory.resolve("model.gguf"), bytes);
    }

    /** A header followed by raw bytes: magic, version, counts. */
    private static ByteBuffer header(int version, long tensors, long metadata, int extra) {
        return ByteBuffer.allocate(24 + extra).order(ByteOrder.LITTLE_ENDIAN).putInt(0x46554747).putInt(version).putLong(tensors).putLong(metadata);
    }

    @Test
    void badMagic() throws IOException {
        Path path = file("GGML and then some bytes".getBytes(StandardCharsets.US_ASCII));
        assertInvalid(() -> GgufFile.open(path), "magic", "GGUF");
    }

    @Test
    void unsupportedVersions() throws IOException {
        Path versionOne = file(header(1, 0, 0, 0).array());
        assertInvalid(() -> GgufFile.open(versionOne), "version", "found 1");
        Path bigEndian = file(header(Integer.reverseBytes(3), 0, 0, 0).array());
        assertInvalid(() -> GgufFile.open(bigEndian), "version", "big-endian");
    }

    @Test
    void absurdCounts() throws IOException {
        Path tensors = file(header(3, 1L << 40, 0, 64).array());
        assertInvalid(() -> GgufFile.open(tensors), "tensor count", "1099511627776");
        Path metadata = file(header(3, 0, 1L << 40, 64).array());
        assertInvalid(() -> GgufFile.open(metadata), "metadata count");
        byte[] hugeUnsigned = header(3, 0, 0, 0).array();
        ByteBuffer.wrap(hugeUnsigned).order(ByteOrder.LITTLE_ENDIAN).putLong(8, -1L);
        Path unsigned = file(hugeUnsigned);
        assertInvalid(() -> GgufFile.open(unsigned), "tensor count", "18446744073709551615");
    }

    @Test
    void stringLongerThanTheFile() throws IOException {
        ByteBuffer bytes = header(3, 0, 1, 16).putLong(1L << 50).putLong(0);
        Path path = file(bytes.array());
        assertInvalid(() -> GgufFile.open(path), "metadata key 0", "remaining bytes");
    }

    @Test
    void unknownValueType() throws IOException {
        ByteBuffer bytes = header(3, 0, 1, 13).putLong(1).put((byte) 'k').putInt(99);
        Path path = file(bytes.array());
        assertInvalid(() -> GgufFile.open(path), "k type", "0-12", "99");
    }

    @Test
    void arrayLongerThanTheFile() throws IOException {
        ByteBuffer bytes = header(3, 0, 1, 25).putLong(1).put((byte) 'k').putInt(9).putInt(4).putLong(1L << 33);
        Path path = file(bytes.array());
        assertInvalid(() -> GgufFile.open(path), "k length");
    }

    @Test
    void arraysNestedTooDeep() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(header(3, 0, 1, 0).array());
        out.writeBytes(ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN).putLong(1).put((byte) 'k').array());
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(9).array());
        for (int depth = 0; depth < 10; depth++) {
            out.writeBytes(ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(9).putLong(1).array());
        }
        out.writeBytes(new byte[64]);
        Path path = file(out.toByteArray());
        assertInvalid(() -> GgufFile.open(path), "nested at most");
    }

    @Test
    void boolThatIsNeitherZeroNorOne() throws IOException {
        ByteBuffer bytes = header(3, 0, 1, 14).putLong(1).put((byte) 'k').putInt(7).put((byte) 5);
        Path path = file(bytes.array());
        assertInvalid(() -> GgufFile.open(path), "a bool");
    }

    @Test
    void duplicateKeys() throws IOException {
        Path path = file(new GgufTestWriter().uint32("a", 1).uint32("a", 2).toByteArray());
        assertInvalid(() -> GgufFile.open(path), "metadata key a", "duplicate");
    }

    @Test
    void unknownTensorType() throws IOException {
        byte[] bytes = new GgufTestWriter().tensor("t", DType.F32, Shape.of(4), new byte[16]).toByteArray();
        int typeOffset = indexOf(bytes, "t".getBytes(StandardCharsets.US_ASCII), 24) + 1 + 4 + 8;
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(typeOffset, 99);
        Path path = file(bytes);
        assertInvalid(() -> GgufFile.open(path), "t type", "99");
    }

    @Test
    void tooManyDimensions() throws IOException {
        byte[] bytes = new GgufTestWriter().tensor("t", DType.F32, Shape.of(1, 1, 1, 1, 4), new byte[16]).toByteArray();
        Path path = file(bytes);
        assertInvalid(() -> GgufFile.open(path), "t dimension count", "at most 4");
    }

    @Test
    void tensorDataPastTheEnd() throws IOException {
        byte[] bytes = new GgufTestWriter().tensor("t", DType.F32, Shape.of(64), new byte[256]).toByteArray();
        Path path = file(Arrays.copyOf(bytes, bytes.length - 100));
        assertInvalid(() -> GgufFile.open(path), "t data", "within the file");
    }

    @Test
    void overlappingAndMisalignedTensors() throws IOException {
        byte[] bytes = new GgufTestWriter()
                .tensor("a", DType.F32, Shape.of(16), new byte[64])
                .tensor("b", DType.F32, Shape.of(16), new byte[64])
                .toByteArray();
        int offsetOfB = indexOf(bytes, new byte[] {1, 0, 0, 0, 0, 0, 0, 0, 'b'}, 24) + 9 + 4 + 8 + 4;
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(offsetOfB, 32);
        Path overlapping = file(bytes);
        assertInvalid(() -> GgufFile.open(overlapping), "b offset", "no overlap with a");
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(offsetOfB, 65);
        Path misaligned = file(bytes);
        assertInvalid(() -> GgufFile.open(misaligned), "b offset", "multiple of the alignment 32");
    }

    @Test
    void blockTypeWithPartialBlocks() throws IOException {
        byte[] bytes = new GgufTestWriter().tensor("q", DType.Q8_0, Shape.of(2, 32), new byte[68]).toByteArray();
        int typeOffset = indexOf(bytes, "q".getBytes(StandardCharsets.US_ASCII), 24) + 1 + 4;
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(typeOffset, 33).putLong(typeOffset + 8, 2);
        Path path = file(bytes);
        assertInvalid(() -> GgufFile.open(path), "q shape", "whole Q8_0 blocks");
    }

    @Test
    void missingArchitectureKeysAndUnknownArchitecture() throws IOException {
        Path missing = file(new GgufTestWriter().string("general.architecture", "llama").toByteArray());
        assertInvalid(() -> CheckpointLoader.open(missing), "llama.embedding_length", "an integer", "nothing");
        Path unknown = file(new GgufTestWriter().string("general.architecture", "gpt2").toByteArray());
        assertInvalid(() -> CheckpointLoader.open(unknown), "general.architecture", "gpt2");
    }

    @Test
    void everyTruncationAndByteFlipIsRefusedCleanly() throws IOException {
        Path valid = GgufTestWriter.model(TinyModels.qwen2(), directory.resolve("valid.gguf"), DType.F16);
        byte[] bytes = Files.readAllBytes(valid);
        Path damaged = directory.resolve("damaged.gguf");
        for (int length = 0; length < bytes.length; length += Math.max(1, bytes.length / 300)) {
            Files.write(damaged, Arrays.copyOf(bytes, length));
            assertInvalid(() -> CheckpointLoader.open(damaged).close());
        }
        SplittableRandom random = new SplittableRandom(12);
        for (int trial = 0; trial < 300; trial++) {
            byte[] flipped = bytes.clone();
            int position = random.nextInt(Math.min(flipped.length, 4096));
            flipped[position] ^= (byte) (1 << random.nextInt(8));
            Files.write(damaged, flipped);
            assertLoadsOrRefuses(() -> {
                try (ModelDescription model = CheckpointLoader.open(damaged)) {
                    model.tensors().values().forEach(tensor -> tensor.toFloats());
                }
            }, "byte " + position + " flipped");
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle, int from) {
        for (int i = from; i <= haystack.length - needle.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new IllegalStateException("pattern not found");
    }
}
