package dev.spikeconv.converter.bundle;

import dev.spikeconv.formats.io.BackgroundWork;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Flushes a file to disk from a background thread while it is being written, every {@link #INTERVAL_BYTES}, so
 * the disk writes overlap the conversion instead of all waiting for the fsync before the rename (Linux starts
 * write-back on its own only past a tenth of memory). The durability guarantee stays with that final fsync.
 * The file is opened at the first flush, so it may be created after this object. Where the safetensors go around the
 * page cache ({@code DirectWriteChannel}) little is left to flush; this serves file systems without O_DIRECT.
 */
final class WriteBackFlusher implements Closeable {
    static final long INTERVAL_BYTES = 256L << 20;

    private final Path file;
    private final long interval;
    private final ExecutorService thread;
    private FileChannel channel;
    private Future<?> pending;
    private long flushedAt;
    private int flushes;

    WriteBackFlusher(Path file) {
        this(file, INTERVAL_BYTES);
    }

    WriteBackFlusher(Path file, long interval) {
        this.file = file;
        this.interval = interval;
        this.thread = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("spikeconv-write-back").daemon().factory());
    }

    /** Reports that the file now holds {@code bytes}; starts a flush when enough were written since the last and none runs. */
    void written(long bytes) throws IOException {
        if (bytes - flushedAt >= interval && (pending == null || pending.isDone())) {
            if (channel == null) {
                channel = FileChannel.open(file, StandardOpenOption.READ);
            }
            FileChannel flushed = channel;
            flushedAt = bytes;
            flushes++;
            pending = thread.submit(() -> {
                try {
                    flushed.force(false);
                }
                catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    /** Flushes started so far. */
    int flushes() {
        return flushes;
    }

    /** Waits for a running flush (its failure is this file's failure) and closes the file. */
    @Override
    public void close() throws IOException {
        try {
            if (pending != null) {
                BackgroundWork.await(pending, "flushing " + file);
            }
        }
        finally {
            thread.shutdownNow();
            if (channel != null) {
                channel.close();
            }
        }
    }
}
