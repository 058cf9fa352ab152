package dev.spikeconv.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --data}, {@code --seq-len} and {@code --tokenizer}: the text calibrate and verify run, and how it is cut and read. */
final class DataOptions {
    @Option(names = "--data", paramLabel = "FILE", required = true, description = "Text (tokenized with the bundle's tokenizer) or a file of token ids.")
    Path data;

    @Option(names = "--seq-len", paramLabel = "L", defaultValue = "512", description = "Tokens per sequence. Default: ${DEFAULT-VALUE}.")
    int sequenceLength;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "tokenizer.json, a GGUF file or a llama2.c tokenizer.bin. Default: the one stored with the model.")
    Path tokenizer;
}
