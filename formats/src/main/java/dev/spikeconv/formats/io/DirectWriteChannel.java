package dev.spikeconv.formats.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A new file written sequentially around the page cache (O_DIRECT): bytes gather in aligned buffers that a background
 * thread writes to the device in whole blocks, in order, while the caller fills the next one; only the last partial
 * block goes through the page cache. Several buffers in flight ride out the device's slow moments (single writes of
 * 8 MiB were seen to take 170 ms here) without stopping the caller. Copying gigabytes of output into the page cache can cost the writer as much CPU as producing
 * them, and pushes out the input being read. {@link #open} falls back to an ordinary channel where the file system
 * refuses O_DIRECT.
 */
public final class DirectWriteChannel implements WritableByteChannel {
    private static final int BUFFER_BYTES = 8 << 20;
    private static final int BUFFERS = 4;
    /** JDK's {@code ExtendedOpenOption.DIRECT}, looked up by name (it lives in jdk.unsupported); null without it. */
    private static final OpenOption DIRECT = directOption();

    private final FileChannel direct;
    private final FileChannel buffered;
    private final int alignment;
    /** Aligned buffers used in turn: one being filled, the ones before it being written or free. */
    private final ByteBuffer[] buffers = new ByteBuffer[BUFFERS];
    private final ExecutorService writer = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("spikeconv-direct-write").daemon().factory());
    private int filling;
    /** Writes handed off and not yet awaited, oldest first: the buffers after the filling one, in turn. */
    private final ArrayDeque<Future<?>> writing = new ArrayDeque<>();
    /** Bytes handed to the writer so far, a multiple of the alignment until {@link #close}. */
    private long handedOff;
    /** Read and written by the writer thread only. */
    private boolean directWorks = true;
    private boolean open = true;

    /** {@code direct} writes the whole blocks of the file {@code buffered} created, aligned to {@code alignment}. */
    DirectWriteChannel(FileChannel buffered, FileChannel direct, int alignment) {
        this.buffered = buffered;
        this.direct = direct;
        this.alignment = alignment;
        for (int i = 0; i < buffers.length; i++) {
            buffers[i] = ByteBuffer.allocateDirect(BUFFER_BYTES + alignment).alignedSlice(alignment).limit(BUFFER_BYTES);
        }
    }

    /** Creates {@code path} (it must not exist) for writing, with O_DIRECT where the file system supports it. */
    public static WritableByteChannel open(Path path) throws IOException {
        FileChannel buffered = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        if (DIRECT == null) {
            return buffered;
        }
        FileChannel direct;
        int alignment;
        try {
            alignment = Math.toIntExact(Math.max(4096, Files.getFileStore(path).getBlockSize()));
            direct = FileChannel.open(path, StandardOpenOption.WRITE, DIRECT);
        }
        catch (IOException | UnsupportedOperationException | ArithmeticException e) {
            // tmpfs and some network file systems have no O_DIRECT: write through the page cache as usual.
            return buffered;
        }
        if (BUFFER_BYTES % alignment != 0) {
            direct.close();
            return buffered;
        }
        return new DirectWriteChannel(buffered, direct, alignment);
    }

    private static OpenOption directOption() {
        try {
            Class<?> options = Class.forName("com.sun.nio.file.ExtendedOpenOption");
            for (Object option : options.getEnumConstants()) {
                if (((Enum<?>) option).name().equals("DIRECT")) {
                    return (OpenOption) option;
                }
            }
            return null;
        }
        catch (ClassNotFoundException e) {
            return null;
        }
    }

    @Override
    public int write(ByteBuffer source) throws IOException {
        if (!open) {
            throw new ClosedChannelException();
        }
        int count = source.remaining();
        while (source.hasRemaining()) {
            ByteBuffer buffer = buffers[filling];
            int length = Math.min(source.remaining(), buffer.remaining());
            buffer.put(buffer.position(), source, source.position(), length);
            buffer.position(buffer.position() + length);
            source.position(source.position() + length);
            if (!buffer.hasRemaining()) {
                handOff(BUFFER_BYTES);
            }
        }
        return count;
    }

    /**
     * Starts writing the filling buffer's first {@code length} bytes (whole blocks) at the end of the file and moves the
     * rest to the next buffer, which becomes the filling one once its own write, if any, is done.
     */
    private void handOff(int length) throws IOException {
        if (writing.size() == BUFFERS - 1) {
            awaitOldestWrite();
        }
        ByteBuffer full = buffers[filling];
        ByteBuffer next = buffers[(filling + 1) % BUFFERS];
        int rest = full.position() - length;
        next.clear().limit(BUFFER_BYTES);
        next.put(0, full, length, rest).position(rest);
        ByteBuffer blocks = full.duplicate().position(0).limit(length);
        long at = handedOff;
        handedOff += length;
        filling = (filling + 1) % BUFFERS;
        writing.addLast(writer.submit(() -> {
            long position = at;
            try {
                if (directWorks) {
                    try {
                        position += direct.write(blocks, position);
                    }
                    catch (IOException e) {
                        // Some file systems open with O_DIRECT and then refuse the writes: go on through the page cache.
                        directWorks = false;
                    }
                }
                // What is left after a short or refused direct write (a file size limit, a full disk) goes through the
                // page cache, which writes what still fits or fails with the reason.
                while (blocks.hasRemaining()) {
                    position += buffered.write(blocks, position);
                }
            }
            catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }));
    }

    private void awaitOldestWrite() throws IOException {
        BackgroundWork.await(writing.removeFirst(), "writing");
    }

    private void awaitWriting() throws IOException {
        while (!writing.isEmpty()) {
            awaitOldestWrite();
        }
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    /** Writes what is buffered: whole blocks directly, the last partial block through the page cache. */
    @Override
    public void close() throws IOException {
        if (!open) {
            return;
        }
        open = false;
        try {
            ByteBuffer buffer = buffers[filling];
            handOff(buffer.position() / alignment * alignment);
            awaitWriting();
            ByteBuffer tail = buffers[filling].duplicate().flip();
            long position = handedOff;
            while (tail.hasRemaining()) {
                position += buffered.write(tail, position);
            }
        }
        finally {
            writer.shutdownNow();
            try {
                direct.close();
            }
            finally {
                buffered.close();
            }
        }
    }
}
