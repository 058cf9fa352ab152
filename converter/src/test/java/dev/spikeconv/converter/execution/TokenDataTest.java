package dev.spikeconv.converter.execution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenDataTest {
    @TempDir
    Path directory;

    /** A checkpoint passed as --data is refused, not read as text of gibberish (it gave a perplexity of 3e10). */
    @Test
    void dataThatIsNotTextIsRefused() throws IOException {
        Path model = TestModels.stories260K();
        assertThatThrownBy(() -> TokenData.forModel(model, null, model, 512, 0, 256, "verify")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("is not text: it holds NUL bytes");
        byte[] latin1 = new byte[4000];
        for (int i = 0; i < latin1.length; i++) {
            latin1[i] = (byte) (i % 3 == 0 ? 0xE9 : 'a'); // é in Latin-1: invalid UTF-8 every third byte
        }
        Path invalid = Files.write(directory.resolve("latin1.txt"), latin1);
        assertThatThrownBy(() -> TokenData.forModel(invalid, null, model, 512, 0, 256, "verify")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("is not UTF-8 text");
        // text with a stray invalid byte is still text
        Path almost = Files.writeString(directory.resolve("text.txt"), "Once upon a time there was a little dog. ".repeat(40));
        assertThat(TokenData.forModel(almost, null, model, 512, 0, 64, "verify")).hasSize(64);
    }
}
