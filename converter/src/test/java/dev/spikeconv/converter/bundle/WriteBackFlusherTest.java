package dev.spikeconv.converter.bundle;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WriteBackFlusherTest {
    @TempDir
    Path directory;

    /** Flushes start every interval (never two at once), the writer is never disturbed, and close waits for the last. */
    @Test
    void flushesEveryIntervalWhileTheFileIsWritten() throws IOException {
        Path file = directory.resolve("data");
        byte[] block = new byte[1000];
        Arrays.fill(block, (byte) 7);
        int flushes;
        try (FileChannel writer = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            WriteBackFlusher flusher = new WriteBackFlusher(file, 4000);
            try (flusher) {
                long written = 0;
                for (int i = 0; i < 40; i++) {
                    written += writer.write(ByteBuffer.wrap(block));
                    flusher.written(written);
                }
                flusher.written(written);
            }
            flushes = flusher.flushes();
        }
        assertThat(flushes).isBetween(1, 10);
        byte[] expected = new byte[40_000];
        Arrays.fill(expected, (byte) 7);
        assertThat(Files.readAllBytes(file)).isEqualTo(expected);
    }

    @Test
    void belowTheIntervalNothingIsFlushed() throws IOException {
        Path file = Files.write(directory.resolve("small"), new byte[10]);
        WriteBackFlusher flusher = new WriteBackFlusher(file, 4000);
        try (flusher) {
            flusher.written(10);
        }
        assertThat(flusher.flushes()).isZero();
    }
}
