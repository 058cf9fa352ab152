package dev.spikeconv.formats.io;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** Waits for work done on another thread and rethrows its failure as the caller's own: I/O errors as I/O errors. */
public final class BackgroundWork {
    private BackgroundWork() {}

    /**
     * The result of {@code work}, waiting for it. An {@link IOException} (also one wrapped in an
     * {@link UncheckedIOException}), a runtime exception or an error it threw is rethrown as it was; an interruption
     * becomes an {@link InterruptedIOException} saying it happened while {@code activity}.
     */
    public static <T> T await(Future<T> work, String activity) throws IOException {
        try {
            return work.get();
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            InterruptedIOException interrupted = new InterruptedIOException("interrupted while " + activity);
            interrupted.initCause(e);
            throw interrupted;
        }
        catch (ExecutionException e) {
            switch (e.getCause()) {
                case IOException io -> throw io;
                case UncheckedIOException io -> throw io.getCause();
                case RuntimeException runtime -> throw runtime;
                case Error error -> throw error;
                default -> throw new IOException(e.getCause());
            }
        }
    }
}
