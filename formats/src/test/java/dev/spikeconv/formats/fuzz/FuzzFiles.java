package dev.spikeconv.formats.fuzz;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * What every fuzz target shares: the fuzzer's bytes written to a real file (the readers map files),
 * and the rule that bad input may only end in {@link InvalidInputException} (exit 65). Anything else
 * escaping a reader is a finding.
 */
public final class FuzzFiles implements AutoCloseable {
    private final Path directory;

    public FuzzFiles() {
        try {
            directory = Files.createTempDirectory("spikeconv-fuzz-");
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code bytes} as {@code name} in the fuzz folder, replacing the previous input. */
    public Path write(String name, byte[] bytes) {
        try {
            return Files.write(directory.resolve(name), bytes);
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path directory() {
        return directory;
    }

    /** An action on a fuzzed file. */
    @FunctionalInterface
    public interface Reading {
        void run() throws IOException;
    }

    /** Runs {@code reading}; an input error is the expected refusal, every other throwable propagates to the fuzzer. */
    public static void refusesOnlyAsInvalidInput(Reading reading) throws IOException {
        try {
            reading.run();
        }
        catch (InvalidInputException expected) {
            // the documented refusal: exit 65 with one line
        }
    }

    /** Reads a tensor's first and last element, so offsets and sizes the header claims are exercised. */
    public static void touch(TensorView tensor) {
        long count = tensor.shape().elementCount();
        if (count == 0) {
            return;
        }
        float[] value = new float[1];
        tensor.readFloats(0, value, 0, 1);
        tensor.readFloats(count - 1, value, 0, 1);
    }

    @Override
    public void close() {
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
