package dev.spikeconv.cli;

import dev.spikeconv.converter.bundle.BundleFileHashes;
import dev.spikeconv.converter.engines.Engines;
import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code --engine} and {@code --threads}, shared by the commands that run a model. */
final class EngineOptions {
    /** What {@code --engine} accepts: an engine, or the choice by the model's size. */
    enum EngineChoice {
        AUTO,
        ONNX,
        JAVA
    }

    @Option(names = "--engine", paramLabel = "ENGINE", defaultValue = "auto", converter = Choices.EngineChoices.class,
            completionCandidates = Choices.EngineChoices.class,
            description = "onnx (ONNX Runtime, CPU), java (the plain-Java engine, weights read as stored) or auto: onnx while it can hold "
                    + "the weights as floats (int8 bundles up to about half a billion weights), java beyond. Default: ${DEFAULT-VALUE}.")
    EngineChoice engine;

    /** The engine for {@code model} at {@code path}: the one asked for, or for auto the one that runs it within its size. */
    EngineKind engine(ModelDescription model, Path path) {
        return switch (engine) {
            case AUTO -> Engines.automatic(model, path, onnxRuntimeOptions());
            case ONNX -> EngineKind.ONNX;
            case JAVA -> EngineKind.JAVA;
        };
    }

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

    /** An engine's name as the user writes it. */
    static String name(EngineKind kind) {
        return kind.name().toLowerCase(Locale.ROOT);
    }
}
