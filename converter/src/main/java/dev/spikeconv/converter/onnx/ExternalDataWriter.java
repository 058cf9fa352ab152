package dev.spikeconv.converter.onnx;

import com.google.protobuf.ByteString;
import dev.spikeconv.formats.onnx.proto.GraphProto;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * Appends initializer data to the external data file of an ONNX model, each tensor at an offset
 * aligned to 4096 bytes so ONNX Runtime can map it, streaming from the source so no tensor needs to
 * fit in memory. The file is created with the first tensor: a graph whose weights are all referenced
 * elsewhere has none. {@link #inMemory} keeps the data in memory instead, up to a limit, for graphs
 * that are loaded without being written ({@link #inline} moves it into the graph).
 */
final class ExternalDataWriter implements AutoCloseable {
    static final int ALIGNMENT = 4096;
    private static final int CHUNK_ELEMENTS = 1 << 20;

    /** Where a tensor landed in the file. */
    record Placement(long offset, long length) {}

    /** Streams raw bytes of one tensor into the file. */
    @FunctionalInterface
    interface ByteSource {
        void write(ByteSink sink) throws IOException;
    }

    /** Where a {@link ByteSource} writes. */
    @FunctionalInterface
    interface ByteSink {
        void write(ByteBuffer bytes) throws IOException;
    }

    /** More data than an in-memory writer may hold: the graph has to be written to a folder after all. */
    static final class InMemoryLimitExceededException extends IOException {
        InMemoryLimitExceededException(long limit) {
            super("more than " + limit + " bytes of initializer data to keep in memory");
        }
    }

    private final Path path;
    /** null for a file (created with the first tensor) */
    private final ByteArrayOutputStream memory;
    private final long memoryLimit;
    private WritableByteChannel channel;
    private long position;

    /** {@code path} must not exist yet. */
    ExternalDataWriter(Path path) throws IOException {
        this(path, null, 0);
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(path.toString());
        }
    }

    private ExternalDataWriter(Path path, ByteArrayOutputStream memory, long memoryLimit) {
        this.path = path;
        this.memory = memory;
        this.memoryLimit = memoryLimit;
    }

    /** Data kept in memory under the name {@code fileName}, at most {@code limit} bytes (at most 1 GiB). */
    static ExternalDataWriter inMemory(String fileName, long limit) {
        if (limit > 1L << 30) {
            throw new IllegalArgumentException("an in-memory graph holds at most 1 GiB of data, asked for " + limit);
        }
        ByteArrayOutputStream memory = new ByteArrayOutputStream();
        ExternalDataWriter writer = new ExternalDataWriter(Path.of(fileName), memory, limit);
        writer.channel = Channels.newChannel(memory);
        return writer;
    }

    String fileName() {
        return path.getFileName().toString();
    }

    /** Writes the tensor as little-endian float32. */
    Placement writeFloats(TensorView tensor) throws IOException {
        long offset = alignedPosition();
        long elements = tensor.shape().elementCount();
        float[] chunk = new float[(int) Math.min(CHUNK_ELEMENTS, Math.max(1, elements))];
        ByteBuffer bytes = ByteBuffer.allocate(chunk.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (long first = 0; first < elements; first += chunk.length) {
            int count = (int) Math.min(chunk.length, elements - first);
            tensor.readFloats(first, chunk, 0, count);
            bytes.clear();
            bytes.asFloatBuffer().put(chunk, 0, count);
            bytes.limit(count * 4);
            writeFully(bytes);
        }
        return new Placement(offset, elements * 4);
    }

    Placement writeFloats(float[] values) throws IOException {
        long offset = alignedPosition();
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        writeFully(bytes);
        return new Placement(offset, values.length * 4L);
    }

    Placement writeBytes(ByteSource source) throws IOException {
        long offset = alignedPosition();
        source.write(this::writeFully);
        return new Placement(offset, position - offset);
    }

    private long alignedPosition() throws IOException {
        if (channel == null) {
            channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }
        long aligned = (position + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        if (aligned > position) {
            writeFully(ByteBuffer.allocate((int) (aligned - position)));
        }
        return aligned;
    }

    private void writeFully(ByteBuffer buffer) throws IOException {
        if (memory != null && position + buffer.remaining() > memoryLimit) {
            throw new InMemoryLimitExceededException(memoryLimit);
        }
        while (buffer.hasRemaining()) {
            position += channel.write(buffer);
        }
    }

    /**
     * The graph with every initializer kept by this in-memory writer stored in the graph itself rather than as external
     * data, so the graph loads from its bytes alone plus the files it references.
     */
    ModelProto inline(ModelProto model) {
        if (memory == null) {
            throw new IllegalStateException("only an in-memory writer can inline its data");
        }
        byte[] data = memory.toByteArray();
        GraphProto.Builder graph = model.getGraph().toBuilder();
        for (TensorProto.Builder tensor : graph.getInitializerBuilderList()) {
            if (tensor.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
                continue;
            }
            Map<String, String> entries = new HashMap<>();
            tensor.getExternalDataList().forEach(entry -> entries.put(entry.getKey(), entry.getValue()));
            if (!fileName().equals(entries.get("location"))) {
                continue;
            }
            int offset = Math.toIntExact(Long.parseLong(entries.getOrDefault("offset", "0")));
            int length = Math.toIntExact(Long.parseLong(entries.get("length")));
            tensor.clearExternalData().setDataLocation(TensorProto.DataLocation.DEFAULT).setRawData(ByteString.copyFrom(data, offset, length));
        }
        return model.toBuilder().setGraph(graph).build();
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }
}
