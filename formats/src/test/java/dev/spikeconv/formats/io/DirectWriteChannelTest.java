package dev.spikeconv.formats.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the O_DIRECT path where the temporary folder's file system has it (ext4, xfs), the ordinary channel elsewhere. */
class DirectWriteChannelTest {
    private static final int BUFFER = 8 << 20;

    @TempDir
    Path directory;

    /**
     * Files of sizes around the block and buffer boundaries, written in random pieces (from single bytes to more than a
     * buffer, from heap and direct buffers), read back byte for byte.
     */
    @Test
    void theFileHoldsExactlyWhatWasWritten() throws IOException {
        SplittableRandom random = new SplittableRandom(61);
        int[] sizes = {0, 1, 4095, 4096, 4097, BUFFER - 1, BUFFER, BUFFER + 1, 2 * BUFFER + 12_345, 9 * BUFFER + 4096 * 3 + 5};
        for (int size : sizes) {
            byte[] expected = new byte[size];
            random.nextBytes(expected);
            Path file = directory.resolve("file-" + size);
            try (WritableByteChannel channel = DirectWriteChannel.open(file)) {
                int done = 0;
                while (done < size) {
                    int piece = Math.min(size - done, random.nextInt(4) == 0 ? random.nextInt(1, BUFFER + 5000) : random.nextInt(1, 10_000));
                    ByteBuffer source = random.nextBoolean() ? ByteBuffer.wrap(expected, done, piece) : ByteBuffer.allocateDirect(piece).put(expected, done, piece).flip();
                    assertThat(channel.write(source)).isEqualTo(piece);
                    assertThat(source.hasRemaining()).isFalse();
                    done += piece;
                }
            }
            assertThat(Files.readAllBytes(file)).as("size %d", size).isEqualTo(expected);
        }
    }

    /** A file system that opens with O_DIRECT but refuses the writes (here: a closed channel) gets the file through the page cache. */
    @Test
    void refusedDirectWritesFallBackToThePageCache() throws IOException {
        byte[] expected = new byte[2 * BUFFER + 777];
        new SplittableRandom(5).nextBytes(expected);
        Path file = directory.resolve("refused");
        FileChannel buffered = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        FileChannel refusing = FileChannel.open(file, StandardOpenOption.WRITE);
        refusing.close();
        try (WritableByteChannel channel = new DirectWriteChannel(buffered, refusing, 4096)) {
            channel.write(ByteBuffer.wrap(expected));
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(expected);
    }

    @Test
    void anExistingFileIsNotReplaced() throws IOException {
        Path file = Files.writeString(directory.resolve("taken"), "keep");
        assertThatThrownBy(() -> DirectWriteChannel.open(file)).isInstanceOf(FileAlreadyExistsException.class);
        assertThat(Files.readString(file)).isEqualTo("keep");
    }

    @Test
    void writingAfterCloseIsRefused() throws IOException {
        WritableByteChannel channel = DirectWriteChannel.open(directory.resolve("closed"));
        channel.write(ByteBuffer.wrap(new byte[10]));
        channel.close();
        channel.close();
        assertThat(channel.isOpen()).isFalse();
        assertThatThrownBy(() -> channel.write(ByteBuffer.wrap(new byte[1]))).isInstanceOf(ClosedChannelException.class);
        assertThat(Files.size(directory.resolve("closed"))).isEqualTo(10);
    }
}
