package dev.spikeconv.formats.llama2c;

import static dev.spikeconv.formats.testing.InputErrors.assertInvalid;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.testing.Llama2cTestWriter;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MalformedLlama2cTest {
    @TempDir
    Path directory;

    private Path valid() throws IOException {
        return Llama2cTestWriter.write(TinyModels.llama(), directory.resolve("model.bin"), 0);
    }

    private static void setHeaderField(Path file, int index, int value) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(index * 4, value);
        Files.write(file, bytes);
    }

    @Test
    void truncatedOrPaddedFiles() throws IOException {
        Path file = valid();
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 4));
        assertInvalid(() -> CheckpointLoader.open(file), "size", bytes.length + " bytes for the header's dimensions", "found " + (bytes.length - 4));
        Files.write(file, Arrays.copyOf(bytes, bytes.length + 4));
        assertInvalid(() -> CheckpointLoader.open(file), "size");
        Files.write(file, Arrays.copyOf(bytes, 10));
        assertInvalid(() -> CheckpointLoader.open(file), "header field 2");
    }

    @Test
    void impossibleHeaders() throws IOException {
        Path file = valid();
        setHeaderField(file, 0, -64);
        assertInvalid(() -> CheckpointLoader.open(file), "header", "positive dim");
        setHeaderField(file, 0, 16);
        setHeaderField(file, 3, 3);
        assertInvalid(() -> CheckpointLoader.open(file), "header", "divisible by n_heads");
        setHeaderField(file, 3, 4);
        setHeaderField(file, 0, Integer.MAX_VALUE - 3);
        setHeaderField(file, 3, 4);
        assertInvalid(() -> CheckpointLoader.open(file), "header");
    }

    @Test
    void quantizedVersionTwoIsNamedAsUnsupported() throws IOException {
        Path file = Files.write(directory.resolve("q80.bin"),
                ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN).putInt(0x616b3432).putInt(2).array());
        assertInvalid(() -> CheckpointLoader.open(file), "version", "version 2 (int8) is not supported");
    }

    @Test
    void recognisedOnlyWhenTheHeaderMatchesTheSize() throws IOException {
        Path file = valid();
        Path renamed = Files.move(file, directory.resolve("model.weights"));
        CheckpointLoader.open(renamed).close();
        Files.write(renamed, Arrays.copyOf(Files.readAllBytes(renamed), 100));
        assertInvalid(() -> CheckpointLoader.open(renamed), "unrecognized checkpoint");
    }

    @Test
    void tokenizerFiles() throws IOException {
        ByteBuffer good = ByteBuffer.allocate(4 + 2 * 9).order(ByteOrder.LITTLE_ENDIAN).putInt(4)
                .putFloat(0).putInt(1).put((byte) 'a').putFloat(-1).putInt(1).put((byte) 'b');
        Path file = Files.write(directory.resolve("tokenizer.bin"), good.array());
        assertThat(Llama2cVocabulary.read(file, 2).size()).isEqualTo(2);
        assertInvalid(() -> Llama2cVocabulary.read(file, 3), "token count", "3 (the model's vocab size)", "found 2");
        byte[] tooLong = good.array().clone();
        ByteBuffer.wrap(tooLong).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 99);
        Files.write(file, tooLong);
        assertInvalid(() -> Llama2cVocabulary.read(file, 0), "token 0 length", "max_token_length 4");
        Files.write(file, Arrays.copyOf(good.array(), good.array().length - 1));
        assertInvalid(() -> Llama2cVocabulary.read(file, 0), "token 1");
    }
}
