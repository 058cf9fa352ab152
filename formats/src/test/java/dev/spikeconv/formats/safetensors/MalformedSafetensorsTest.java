package dev.spikeconv.formats.safetensors;

import static dev.spikeconv.formats.testing.InputErrors.assertInvalid;
import static dev.spikeconv.formats.testing.InputErrors.assertLoadsOrRefuses;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.TinyModels;
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

class MalformedSafetensorsTest {
    @TempDir
    Path directory;

    private Path file(byte[] bytes) throws IOException {
        return Files.write(directory.resolve("model.safetensors"), bytes);
    }

    private static byte[] safetensors(String header, int dataBytes) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).put(json).array();
    }

    private Path withHeader(String header, int dataBytes) throws IOException {
        return file(safetensors(header, dataBytes));
    }

    @Test
    void readsAWellFormedFile() throws IOException {
        Path path = withHeader("{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[24,26]}}", 26);
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            assertThat(file.tensors()).containsOnlyKeys("a", "b");
            assertThat(file.metadata()).containsEntry("format", "pt");
            assertThat(file.tensors().get("b").shape().elementCount()).isEqualTo(1);
        }
    }

    @Test
    void truncatedBeforeTheHeaderLength() throws IOException {
        Path path = file(new byte[] {1, 2, 3});
        assertInvalid(() -> SafetensorsFile.open(path), path.toString(), "header length");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        byte[] bytes = safetensors("{}", 0);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        Path path = file(bytes);
        assertInvalid(() -> SafetensorsFile.open(path), "header length", "1099511627776");
    }

    @Test
    void headerLongerThanTheLimitIsRefusedBeforeReading() throws IOException {
        byte[] bytes = safetensors("{}", 0);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, SafetensorsHeader.MAX_HEADER_BYTES + 1);
        Path path = file(bytes);
        assertInvalid(() -> SafetensorsFile.open(path), "header length");
    }

    @Test
    void headerThatIsNotJson() throws IOException {
        Path path = withHeader("{\"a\": [1, 2", 0);
        assertInvalid(() -> SafetensorsFile.open(path), "header is not valid JSON");
    }

    @Test
    void headerNestedThousandsDeep() throws IOException {
        Path path = withHeader("{\"a\":" + "[".repeat(5000) + "]".repeat(5000) + "}", 0);
        assertInvalid(() -> SafetensorsFile.open(path), "not valid JSON");
    }

    @Test
    void duplicateTensorNames() throws IOException {
        Path path = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        assertInvalid(() -> SafetensorsFile.open(path), "Duplicate field 'a'");
    }

    @Test
    void unknownDtype() throws IOException {
        Path path = withHeader("{\"a\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        assertInvalid(() -> SafetensorsFile.open(path), "a.dtype", "F12");
    }

    @Test
    void negativeOrFractionalShape() throws IOException {
        Path negative = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
        assertInvalid(() -> SafetensorsFile.open(negative), "a.shape", "non-negative integers");
        Path fractional = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4);
        assertInvalid(() -> SafetensorsFile.open(fractional), "a.shape");
    }

    @Test
    void shapeWhoseSizeOverflows() throws IOException {
        Path path = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4);
        assertInvalid(() -> SafetensorsFile.open(path), "a.shape", "below 2^63");
    }

    @Test
    void byteRangeThatDoesNotMatchTheShape() throws IOException {
        Path path = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20);
        assertInvalid(() -> SafetensorsFile.open(path), "a.data_offsets", "expected 24 bytes for F32 [2, 3]", "found 20 bytes");
    }

    @Test
    void offsetsPastTheEndOfTheFile() throws IOException {
        Path path = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        assertInvalid(() -> SafetensorsFile.open(path), "data section", "16 bytes", "truncated");
    }

    @Test
    void overlappingTensors() throws IOException {
        Path path = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertInvalid(() -> SafetensorsFile.open(path), "b.data_offsets", "overlaps");
    }

    @Test
    void holeBetweenTensors() throws IOException {
        Path path = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
        assertInvalid(() -> SafetensorsFile.open(path), "b.data_offsets", "hole");
    }

    @Test
    void trailingBytesAfterTheLastTensor() throws IOException {
        Path path = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 9);
        assertInvalid(() -> SafetensorsFile.open(path), "trailing bytes");
    }

    @Test
    void metadataValuesMustBeStrings() throws IOException {
        Path path = withHeader("{\"__metadata__\":{\"format\":1}}", 0);
        assertInvalid(() -> SafetensorsFile.open(path), "__metadata__.format", "a string");
    }

    @Test
    void everyTruncationAndByteFlipIsRefusedCleanly() throws IOException {
        Path folder = CheckpointWriters.writeSafetensors(TinyModels.llama(), directory.resolve("valid"), DType.F32, 1);
        byte[] valid = Files.readAllBytes(folder.resolve("model.safetensors"));
        Path damaged = folder.resolve("model.safetensors");
        for (int length = 0; length < valid.length; length += Math.max(1, valid.length / 300)) {
            Files.write(damaged, Arrays.copyOf(valid, length));
            assertInvalid(() -> CheckpointLoader.open(folder).close());
        }
        SplittableRandom random = new SplittableRandom(11);
        for (int trial = 0; trial < 200; trial++) {
            byte[] flipped = valid.clone();
            int position = random.nextInt(Math.min(flipped.length, 8 + 4096));
            flipped[position] ^= (byte) (1 << random.nextInt(8));
            Files.write(damaged, flipped);
            assertLoadsOrRefuses(() -> {
                try (ModelDescription model = CheckpointLoader.open(folder)) {
                    model.tensors().values().forEach(tensor -> tensor.toFloats());
                }
            }, "byte " + position + " flipped");
        }
    }
}
