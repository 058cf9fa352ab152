package dev.spikeconv.cli;

import dev.spikeconv.converter.bundle.BundleFileHashes;
import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code --engine} and {@code --threads}, shared by the commands that run a model. */
final class EngineOptions {
    @Option(names = "--engine", paramLabel = "ENGINE", defaultValue = "onnx", converter = Choices.EngineChoices.class,
            completionCandidates = Choices.EngineChoices.class,
            description = "onnx (ONNX Runtime, CPU) or java (the plain-Java reference). Default: ${DEFAULT-VALUE}.")
    EngineKind engine;

    @Option(names = "--no-check", description = "Run a bundle without checking its files against the SHA-256 its config records "
            + "(checked once per bundle state otherwise, remembered in ~/.cache/spikeconv).")
    boolean noCheck;

    @Mixin
    ThreadsOption threads;

    /** Refuses a bundle whose files changed since spikeconv wrote them, unless --no-check; other checkpoints have nothing recorded. */
    void checkBundle(Path path) throws IOException {
        if (noCheck || !Files.isRegularFile(path.resolve("config.json"))) {
            return;
        }
        if (BundleFileHashes.recorded(path).isEmpty()) {
            return;
        }
        // The tests point the cache into their build folder (a system property); users get the XDG cache folder.
        String configured = System.getProperty("spikeconv.cache");
        String cacheHome = System.getenv("XDG_CACHE_HOME");
        Path folder = configured != null ? Path.of(configured)
                : (cacheHome != null && !cacheHome.isBlank() ? Path.of(cacheHome) : Path.of(System.getProperty("user.home"), ".cache")).resolve("spikeconv");
        Path cache = folder.resolve("checked-bundles.json");
        BundleFileHashes.checkOnce(path, cache);
    }

    OnnxRuntimeOptions onnxRuntimeOptions() {
        return threads.onnxRuntimeOptions();
    }

    /** The engine's name as the user writes it. */
    String engineName() {
        return engine.name().toLowerCase(Locale.ROOT);
    }
}
