package dev.spikeconv.cli;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.formats.tokenizer.Tokenizer;
import dev.spikeconv.formats.tokenizer.TokenizerLoader;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --tokenizer}: where the tokenizer comes from when the checkpoint does not carry one. */
final class TokenizerOption {
    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "tokenizer.json, a GGUF file or a llama2.c tokenizer.bin. Default: the one stored with the model.")
    Path tokenizer;

    Tokenizer load(Path model, int vocabularySize) throws IOException {
        if (tokenizer != null) {
            return TokenizerLoader.fromFile(tokenizer, vocabularySize);
        }
        return TokenizerLoader.forModel(model, vocabularySize).orElseThrow(() -> new InvalidOptionException("tokenizer",
                "is needed: no tokenizer found with " + model + " (tokenizer.json, GGUF vocabulary or tokenizer.bin)"));
    }
}
