package dev.spikeconv.converter.onnx;

import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Appends initializer data to the external data file of an ONNX model, each tensor at an offset
 * aligned to 4096 bytes so ONNX Runtime can map it, streaming from the source so no tensor needs to
 * fit in memory. The file is created with the first tensor: a graph whose weights are all referenced
 * elsewhere has none.
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

    private final Path path;
    private FileChannel channel;

    /** {@code path} must not exist yet. */
    ExternalDataWriter(Path path) throws IOException {
        this.path = path;
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(path.toString());
        }
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
        return new Placement(offset, channel.position() - offset);
    }

    private long alignedPosition() throws IOException {
        if (channel == null) {
            channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }
        long position = channel.position();
        long aligned = (position + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        if (aligned > position) {
            writeFully(ByteBuffer.allocate((int) (aligned - position)));
        }
        return aligned;
    }

    private void writeFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }
}
