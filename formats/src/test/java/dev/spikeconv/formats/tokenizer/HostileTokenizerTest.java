package dev.spikeconv.formats.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tokenizer.json is untrusted: its split regex and its vocabulary can only make encoding refuse, never hang or crash. */
class HostileTokenizerTest {
    private static final String LLAMA3_JSON_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}|";

    @TempDir
    Path directory;

    private Path withPattern(String jsonPattern) throws IOException {
        String original = Files.readString(TestModels.testdata("tokenizers", "bytelevel-bpe", "tokenizer.json"));
        assertThat(original).contains(LLAMA3_JSON_PATTERN);
        Path file = directory.resolve("tokenizer.json");
        int start = original.indexOf(LLAMA3_JSON_PATTERN);
        int end = original.indexOf('"', start);
        Files.writeString(file, original.substring(0, start) + jsonPattern + original.substring(end));
        return file;
    }

    @Test
    void aRegexThatDoesNotCompileIsInvalidInput() throws IOException {
        Path file = withPattern("(?Z)x");
        assertThatThrownBy(() -> HuggingFaceTokenizerReader.read(file)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("the pre-tokenizer regex does not compile");
    }

    @Test
    void aRegexThatBacktracksWithoutEndIsCutOff() throws IOException {
        RankedBpeTokenizer tokenizer = HuggingFaceTokenizerReader.read(withPattern("(.*a){20}b"));
        String text = "a".repeat(40) + "!";
        assertThatThrownBy(() -> tokenizer.encode(text, false)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("backtracks without end");
    }

    @Test
    void anOverlongRegexIsInvalidInput() throws IOException {
        Path file = withPattern("a".repeat(PreTokenizerPatterns.MAX_PATTERN_LENGTH + 1));
        assertThatThrownBy(() -> HuggingFaceTokenizerReader.read(file)).isInstanceOf(InvalidInputException.class).hasMessageContaining("more than");
    }

    @Test
    void theKnownPatternsStayFarInsideTheBudget() throws IOException {
        RankedBpeTokenizer tokenizer = HuggingFaceTokenizerReader.read(TestModels.testdata("tokenizers", "bytelevel-bpe", "tokenizer.json"));
        String text = "  Once upon a time, 1234567 spaces\n\n\tand tabs     and émigrés' café's ".repeat(200);
        assertThat(tokenizer.encode(text, false)).isNotEmpty();
    }
}
