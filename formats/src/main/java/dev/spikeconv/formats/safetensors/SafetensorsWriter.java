package dev.spikeconv.formats.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.formats.io.DirectWriteChannel;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a safetensors file tensor by tensor, so no tensor needs to be in memory all at once. The
 * header lists tensors in the given order with {@code __metadata__} first; the same entries and bytes
 * always give the same file.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long COPY_CHUNK = 1 << 24;

    /** A tensor to write. */
    public record TensorEntry(String name, DType dtype, Shape shape) {
        public long byteSize() {
            return dtype.byteSize(shape.elementCount());
        }
    }

    /** Writes exactly {@code entry.byteSize()} little-endian bytes of one tensor. */
    @FunctionalInterface
    public interface TensorContent {
        void write(TensorEntry entry, WritableByteChannel channel) throws IOException;
    }

    private SafetensorsWriter() {}

    public static void write(Path path, List<TensorEntry> entries, Map<String, String> metadata, TensorContent content) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            write(channel, entries, metadata, content);
        }
    }

    /**
     * The same file written around the page cache where the file system allows ({@link DirectWriteChannel}): for
     * gigabytes of output that are not read back right away.
     */
    public static void writeUncached(Path path, List<TensorEntry> entries, Map<String, String> metadata, TensorContent content) throws IOException {
        try (WritableByteChannel channel = DirectWriteChannel.open(path)) {
            write(channel, entries, metadata, content);
        }
    }

    private static void write(WritableByteChannel file, List<TensorEntry> entries, Map<String, String> metadata, TensorContent content) throws IOException {
        byte[] header = header(entries, metadata);
        CountingChannel channel = new CountingChannel(file);
        ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
        writeFully(channel, prefix);
        writeFully(channel, ByteBuffer.wrap(header));
        for (TensorEntry entry : entries) {
            long before = channel.count;
            content.write(entry, channel);
            long written = channel.count - before;
            if (written != entry.byteSize()) {
                throw new IllegalStateException(entry.name() + ": wrote " + written + " bytes, header says " + entry.byteSize());
            }
        }
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes so tensor data stays aligned. */
    public static byte[] header(List<TensorEntry> entries, Map<String, String> metadata) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        if (!metadata.isEmpty()) {
            ObjectNode metadataNode = root.putObject("__metadata__");
            metadata.forEach(metadataNode::put);
        }
        Set<String> names = new HashSet<>();
        long offset = 0;
        for (TensorEntry entry : entries) {
            if (entry.name().equals("__metadata__") || !names.add(entry.name())) {
                throw new IllegalArgumentException("duplicate or reserved tensor name " + entry.name());
            }
            ObjectNode node = root.putObject(entry.name());
            node.put("dtype", entry.dtype().name());
            ArrayNode shape = node.putArray("shape");
            Arrays.stream(entry.shape().dimensions()).forEach(shape::add);
            long end = offset + entry.byteSize();
            node.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = MAPPER.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        }
        catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        int padded = (json.length + 7) & ~7;
        byte[] header = Arrays.copyOf(json, padded);
        Arrays.fill(header, json.length, padded, (byte) ' ');
        return header;
    }

    public static void writeFully(WritableByteChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** Writes all of {@code data} (a mapped tensor, maybe gigabytes) through {@code channel}, 16 MiB at a time. */
    public static void writeFully(WritableByteChannel channel, MemorySegment data) throws IOException {
        for (long offset = 0; offset < data.byteSize(); offset += COPY_CHUNK) {
            writeFully(channel, data.asSlice(offset, Math.min(COPY_CHUNK, data.byteSize() - offset)).asByteBuffer());
        }
    }

    /** Counts what the tensor contents write, so a short or long tensor is caught before the file is used. */
    private static final class CountingChannel implements WritableByteChannel {
        private final WritableByteChannel target;
        private long count;

        CountingChannel(WritableByteChannel target) {
            this.target = target;
        }

        @Override
        public int write(ByteBuffer source) throws IOException {
            int written = target.write(source);
            count += written;
            return written;
        }

        @Override
        public boolean isOpen() {
            return target.isOpen();
        }

        /** The file is closed by whoever opened it. */
        @Override
        public void close() {
        }
    }
}
