package dev.spikeconv.cli;

import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import java.util.Locale;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code --engine} and {@code --threads}, shared by the commands that run a model. */
final class EngineOptions {
    @Option(names = "--engine", paramLabel = "ENGINE", defaultValue = "onnx", converter = Choices.EngineChoices.class,
            completionCandidates = Choices.EngineChoices.class,
            description = "onnx (ONNX Runtime, CPU) or java (the plain-Java reference). Default: ${DEFAULT-VALUE}.")
    EngineKind engine;

    @Mixin
    ThreadsOption threads;

    OnnxRuntimeOptions onnxRuntimeOptions() {
        return threads.onnxRuntimeOptions();
    }

    /** The engine's name as the user writes it. */
    String engineName() {
        return engine.name().toLowerCase(Locale.ROOT);
    }
}
