package dev.spikeconv.formats.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsWriterTest {
    @TempDir
    Path directory;

    @Test
    void writesAHeaderOthersCanReadAndIsDeterministic() throws IOException {
        List<SafetensorsWriter.TensorEntry> entries = List.of(
                new SafetensorsWriter.TensorEntry("b.weight", DType.I8, Shape.of(3)),
                new SafetensorsWriter.TensorEntry("a.weight", DType.F32, Shape.of(1, 2)));
        SafetensorsWriter.TensorContent content = (entry, channel) -> SafetensorsWriter.writeFully(channel, ByteBuffer.allocate((int) entry.byteSize()));
        Path first = directory.resolve("first.safetensors");
        Path second = directory.resolve("second.safetensors");
        SafetensorsWriter.write(first, entries, Map.of("format", "pt"), content);
        SafetensorsWriter.write(second, entries, Map.of("format", "pt"), content);
        assertThat(Files.readAllBytes(first)).isEqualTo(Files.readAllBytes(second));
        byte[] header = SafetensorsWriter.header(entries, Map.of("format", "pt"));
        assertThat(header.length % 8).isZero();
        assertThat(new String(header, StandardCharsets.UTF_8).strip()).isEqualTo(
                "{\"__metadata__\":{\"format\":\"pt\"},\"b.weight\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                        + "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[3,11]}}");
        try (SafetensorsFile file = SafetensorsFile.open(first)) {
            assertThat(file.tensors().keySet()).containsExactly("b.weight", "a.weight");
        }
    }

    @Test
    void refusesContentOfTheWrongSizeAndDuplicateNames() {
        List<SafetensorsWriter.TensorEntry> entries = List.of(new SafetensorsWriter.TensorEntry("a", DType.F32, Shape.of(2)));
        assertThatThrownBy(() -> SafetensorsWriter.write(directory.resolve("short.safetensors"), entries, Map.of(),
                (entry, channel) -> SafetensorsWriter.writeFully(channel, ByteBuffer.allocate(4))))
                .hasMessageContaining("wrote 4 bytes, header says 8");
        assertThatThrownBy(() -> SafetensorsWriter.header(List.of(entries.getFirst(), entries.getFirst()), Map.of()))
                .hasMessageContaining("duplicate");
    }
}
