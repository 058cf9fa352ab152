package dev.spikeconv.formats.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class BackgroundWorkTest {
    @Test
    void theResultOrTheFailureComesBackAsTheCallersOwn() throws IOException {
        assertThat(BackgroundWork.await(CompletableFuture.completedFuture("done"), "testing")).isEqualTo("done");
        IOException io = new IOException("disk");
        assertThatThrownBy(() -> BackgroundWork.await(CompletableFuture.failedFuture(io), "testing")).isSameAs(io);
        assertThatThrownBy(() -> BackgroundWork.await(CompletableFuture.failedFuture(new UncheckedIOException(io)), "testing")).isSameAs(io);
        IllegalStateException bug = new IllegalStateException("bug");
        assertThatThrownBy(() -> BackgroundWork.await(CompletableFuture.failedFuture(bug), "testing")).isSameAs(bug);
        Exception checked = new Exception("other");
        assertThatThrownBy(() -> BackgroundWork.await(CompletableFuture.failedFuture(checked), "testing")).isInstanceOf(IOException.class).hasCause(checked);
    }

    @Test
    void anInterruptedWaitSaysWhatItWasWaitingFor() {
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> BackgroundWork.await(new CompletableFuture<>(), "flushing a file"))
                    .isInstanceOf(InterruptedIOException.class).hasMessage("interrupted while flushing a file");
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        }
        finally {
            Thread.interrupted();
        }
    }
}
