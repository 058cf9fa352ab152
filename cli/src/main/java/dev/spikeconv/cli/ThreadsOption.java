package dev.spikeconv.cli;

import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import picocli.CommandLine.Option;

/** {@code --threads}, shared by every command that runs ONNX Runtime. */
final class ThreadsOption {
    @Option(names = "--threads", paramLabel = "N", defaultValue = "2", description = "ONNX Runtime threads. Default: ${DEFAULT-VALUE}.")
    int threads;

    OnnxRuntimeOptions onnxRuntimeOptions() {
        return new OnnxRuntimeOptions(threads);
    }
}
