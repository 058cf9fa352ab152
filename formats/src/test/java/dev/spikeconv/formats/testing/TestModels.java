package dev.spikeconv.formats.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * Locates test inputs: the shared third-party checkpoints beside the repository
 * ({@code ../shared/testmodels}, or {@code SPIKECONV_TESTMODELS}) and the repository's own testdata.
 * Under {@code CI=true} a missing shared folder fails the test instead of skipping it.
 */
public final class TestModels {
    private TestModels() {}

    public static Path repositoryRoot() {
        String configured = System.getProperty("spikeconv.repository.root");
        if (configured != null && Files.isRegularFile(Path.of(configured, "mvnw"))) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        for (Path directory = Path.of("").toAbsolutePath(); directory != null; directory = directory.getParent()) {
            if (Files.isRegularFile(directory.resolve("mvnw")) && Files.isDirectory(directory.resolve("formats"))) {
                return directory;
            }
        }
        throw new IllegalStateException("cannot find the repository root from " + Path.of("").toAbsolutePath());
    }

    /** The repository's generated fixtures ({@code testdata/}). */
    public static Path testdata(String first, String... more) {
        Path path = repositoryRoot().resolve("testdata").resolve(Path.of(first, more));
        if (!Files.exists(path)) {
            throw new IllegalStateException("missing committed fixture " + path);
        }
        return path;
    }

    /** A file or folder under the shared test models, e.g. {@code shared("stories260K-gguf", "stories260K.gguf")}. */
    public static Path shared(String first, String... more) {
        Path root = sharedRoot();
        Path path = root.resolve(Path.of(first, more));
        if (!Files.exists(path)) {
            missing("shared test model " + path + " is missing");
        }
        return path;
    }

    /** Karpathy's stories260K as llama2.c exports it. */
    public static Path stories260K() {
        return shared("stories260K-llama2c", "stories260K.bin");
    }

    /** The head of the TinyStories validation text. */
    public static Path tinyStories() {
        return shared("corpus-tinystories-valid", "tinystories_valid_head.txt");
    }

    private static Path sharedRoot() {
        String configured = System.getenv("SPIKECONV_TESTMODELS");
        if (configured != null && !configured.isEmpty()) {
            return Path.of(configured);
        }
        for (Path directory = repositoryRoot(); directory != null; directory = directory.getParent()) {
            Path candidate = directory.resolve("shared").resolve("testmodels");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        missing("shared test models not found beside " + repositoryRoot() + " (set SPIKECONV_TESTMODELS)");
        throw new AssertionError("unreachable");
    }

    private static void missing(String message) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(message);
        }
        Assumptions.abort(message);
    }
}
