package dev.spikeconv.cli;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The process's standard error as the launcher hands it over. The JVM prints "WARNING: Using incubator modules" to
 * stderr before any of spikeconv's code runs (the reference engine needs the Vector API, and no option silences the
 * notice), so {@code bin/spikeconv} starts the JVM with stderr on /dev/null and the real one on another descriptor,
 * named by the system property {@code spikeconv.stderr}; {@link #restore} puts it back on descriptor 2 first thing, for
 * Java and native code alike. Whether progress draws bars is decided by stderr being a terminal, as tqdm and llama.cpp do.
 */
final class StandardError {
    private static final int STANDARD_ERROR = 2;

    private StandardError() {}

    /**
     * Moves the descriptor the launcher named back to 2 (a plain {@code java -jar} run has nothing to restore). Only when
     * descriptor 2 is /dev/null, as the launcher leaves it: a process that inherited the property without the launcher's
     * descriptors (a child started with the parent's JVM options) has a descriptor of the JVM's own there, and must keep it.
     */
    static void restore() {
        String descriptor = System.getProperty("spikeconv.stderr");
        if (descriptor == null || !standardErrorIsDiscarded()) {
            return;
        }
        try {
            int saved = Integer.parseInt(descriptor);
            Optional<MethodHandle> duplicate = function("dup2", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            Optional<MethodHandle> close = function("close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            if (duplicate.isPresent() && close.isPresent() && (int) duplicate.get().invokeExact(saved, STANDARD_ERROR) == STANDARD_ERROR) {
                int closed = (int) close.get().invokeExact(saved);
                assert closed == 0 || closed == -1;
            }
        }
        catch (Throwable e) {
            // Without the C library's dup2 (not Linux), stderr stays where the launcher put it.
        }
    }

    private static boolean standardErrorIsDiscarded() {
        try {
            return Files.isSameFile(Path.of("/dev/fd/" + STANDARD_ERROR), Path.of("/dev/null"));
        }
        catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Whether stderr is a terminal (the C library's isatty on descriptor 2). */
    static boolean isTerminal() {
        try {
            Optional<MethodHandle> isatty = function("isatty", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            if (isatty.isPresent()) {
                return (int) isatty.get().invokeExact(STANDARD_ERROR) == 1;
            }
        }
        catch (Throwable e) {
            // fall through to the JVM's view
        }
        return System.console() != null && System.console().isTerminal();
    }

    @SuppressWarnings("restricted") // the launcher grants native access (--enable-native-access)
    private static Optional<MethodHandle> function(String name, FunctionDescriptor descriptor) {
        Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find(name).map(address -> linker.downcallHandle(address, descriptor));
    }
}
