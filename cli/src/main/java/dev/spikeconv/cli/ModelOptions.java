package dev.spikeconv.cli;

import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** The model run and generate work on, the engine that runs it, and where its tokenizer comes from. */
final class ModelOptions {
    @Parameters(paramLabel = "PATH", description = "A checkpoint or spikeconv bundle.")
    Path path;

    @Mixin
    EngineOptions engine;

    @Mixin
    TokenizerOption tokenizer;
}
