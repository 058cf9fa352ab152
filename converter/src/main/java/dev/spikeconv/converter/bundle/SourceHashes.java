package dev.spikeconv.converter.bundle;

import dev.spikeconv.formats.io.FileHashes;
import dev.spikeconv.formats.io.BackgroundWork;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.FutureTask;

/**
 * SHA-256 of every source file under its name relative to the source (never an absolute path), computed on a
 * thread of its own while the tensors are converted, so that hashing (one core's work) overlaps with quantizing.
 */
final class SourceHashes implements AutoCloseable {
    private final FutureTask<Map<String, String>> task;

    private SourceHashes(List<Path> files, Path base) {
        task = new FutureTask<>(() -> hash(files, base));
        Thread.ofPlatform().daemon().name("spikeconv-source-hashes").start(task);
    }

    /** Starts hashing {@code source}'s files, named relative to the folder of {@code sourcePath}. */
    static SourceHashes start(ModelDescription source, Path sourcePath) {
        Path base = Files.isDirectory(sourcePath) ? sourcePath.toAbsolutePath() : sourcePath.toAbsolutePath().getParent();
        return new SourceHashes(List.copyOf(source.files()), base);
    }

    /** File name (relative to the source folder) to hex SHA-256, waiting for the hashing to finish. */
    Map<String, String> result() throws IOException {
        try {
            return BackgroundWork.await(task, "hashing the source files");
        }
        catch (CancellationException e) {
            throw new IllegalStateException("source hashing was cancelled", e);
        }
    }

    /** Stops the hashing if the conversion ends without needing it. */
    @Override
    public void close() {
        task.cancel(true);
    }

    private static Map<String, String> hash(List<Path> files, Path base) throws IOException {
        Map<String, String> hashes = new LinkedHashMap<>();
        for (Path file : files) {
            Path absolute = file.toAbsolutePath();
            String name = absolute.startsWith(base) ? base.relativize(absolute).toString() : absolute.getFileName().toString();
            hashes.put(name, FileHashes.sha256(absolute));
        }
        return hashes;
    }
}
