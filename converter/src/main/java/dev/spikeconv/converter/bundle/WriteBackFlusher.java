package dev.spikeconv.converter.bundle;

import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Flushes a file to disk from a background thread while it is being written, every {@link #INTERVAL_BYTES}, so
 * the disk writes overlap the conversion instead of all waiting for the fsync before the rename (Linux starts
 * write-back on its own only past a tenth of memory). The durability guarantee stays with that final fsync.
 */
final class WriteBackFlusher implements Closeable {
    static final long INTERVAL_BYTES = 256L << 20;

    private final FileChannel channel;
    private final long interval;
    private final ExecutorService thread;
    private Future<?> pending;
    private long flushedAt;
    private int flushes;

    private WriteBackFlusher(FileChannel channel, long interval) {
        this.channel = channel;
        this.interval = interval;
        this.thread = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("spikeconv-write-back").daemon().factory());
    }

    /** Opens {@code file}, which another channel is writing, for flushing. */
    static WriteBackFlusher open(Path file) throws IOException {
        return open(file, INTERVAL_BYTES);
    }

    static WriteBackFlusher open(Path file, long interval) throws IOException {
        return new WriteBackFlusher(FileChannel.open(file, StandardOpenOption.READ), interval);
    }

    /** Reports that the file now holds {@code bytes}; starts a flush when enough were written since the last and none runs. */
    void written(long bytes) {
        if (bytes - flushedAt >= interval && (pending == null || pending.isDone())) {
            flushedAt = bytes;
            flushes++;
            pending = thread.submit(() -> {
                try {
                    channel.force(false);
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

    /** Waits for a running flush (its failure is this file's failure) and closes the channel. */
    @Override
    public void close() throws IOException {
        try (channel) {
            if (pending != null) {
                pending.get();
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while flushing " + e.getMessage());
        }
        catch (ExecutionException e) {
            throw e.getCause() instanceof UncheckedIOException unchecked ? unchecked.getCause() : new IOException(e.getCause());
        }
        finally {
            thread.shutdownNow();
        }
    }
}
