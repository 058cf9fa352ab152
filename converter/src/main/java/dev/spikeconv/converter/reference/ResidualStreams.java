package dev.spikeconv.converter.reference;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The residual streams {@code [tokens, hidden]} of a set of sequences as a layer-by-layer pipeline advances them: in
 * memory while they fit {@code memoryLimit} bytes, otherwise in a file in {@code spillFolder} (removed on close), read
 * and written back one sequence at a time.
 */
public final class ResidualStreams implements AutoCloseable {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int[] lengths;
    private final long[] offsets;
    private final int width;
    private final float[][] inMemory;
    private final Path file;
    private final Arena arena;
    private final MemorySegment mapped;

    private ResidualStreams(int[] lengths, int width, long memoryLimit, Path spillFolder) throws IOException {
        this.lengths = lengths.clone();
        this.width = width;
        this.offsets = new long[lengths.length];
        long total = 0;
        for (int i = 0; i < lengths.length; i++) {
            offsets[i] = total;
            total += (long) lengths[i] * width * Float.BYTES;
        }
        if (total <= memoryLimit) {
            inMemory = new float[lengths.length][];
            file = null;
            arena = null;
            mapped = null;
            return;
        }
        inMemory = null;
        Files.createDirectories(spillFolder);
        file = Files.createTempFile(spillFolder, "residual-streams-", ".f32");
        // A killed run (Ctrl-C, SIGTERM) must not leave gigabytes beside the bundle.
        file.toFile().deleteOnExit();
        arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
        }
        catch (IOException | RuntimeException e) {
            arena.close();
            Files.deleteIfExists(file);
            throw e;
        }
    }

    /** Streams of sequences of {@code lengths} tokens, {@code width} values each. */
    public static ResidualStreams create(int[] lengths, int width, long memoryLimit, Path spillFolder) throws IOException {
        return new ResidualStreams(lengths, width, memoryLimit, spillFolder);
    }

    public int sequences() {
        return lengths.length;
    }

    /** Values per token. */
    public int width() {
        return width;
    }

    public int length(int sequence) {
        return lengths[sequence];
    }

    /** Whether the streams went to a file. */
    public boolean spilled() {
        return mapped != null;
    }

    /** The stream of {@code sequence}; in memory the array itself, from a file a copy ({@link #put} it back after changing it). */
    public float[] get(int sequence) {
        if (inMemory != null) {
            return inMemory[sequence];
        }
        float[] values = new float[lengths[sequence] * width];
        MemorySegment.copy(mapped, FLOAT, offsets[sequence], values, 0, values.length);
        return values;
    }

    /** A copy of the stream of {@code sequence} that the caller may change. */
    public float[] copy(int sequence) {
        return inMemory != null ? inMemory[sequence].clone() : get(sequence);
    }

    public void put(int sequence, float[] values) {
        if (values.length != lengths[sequence] * width) {
            throw new IllegalArgumentException("sequence " + sequence + " has " + lengths[sequence] * width + " values, got " + values.length);
        }
        if (inMemory != null) {
            inMemory[sequence] = values;
            return;
        }
        MemorySegment.copy(values, 0, mapped, FLOAT, offsets[sequence], values.length);
    }

    @Override
    public void close() throws IOException {
        if (arena != null) {
            arena.close();
            Files.deleteIfExists(file);
        }
    }
}
