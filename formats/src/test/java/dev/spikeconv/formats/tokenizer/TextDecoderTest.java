package dev.spikeconv.formats.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class TextDecoderTest {
    /** Token i is byte i of the text: a character split over several tokens. */
    private static Tokenizer bytesOf(byte[] text) {
        return new Tokenizer() {
            @Override
            public int[] encode(String ignored) {
                return new int[0];
            }

            @Override
            public byte[] tokenBytes(int previousId, int id) {
                return new byte[] {text[id]};
            }

            @Override
            public OptionalInt bosTokenId() {
                return OptionalInt.empty();
            }

            @Override
            public OptionalInt eosTokenId() {
                return OptionalInt.empty();
            }

            @Override
            public int vocabularySize() {
                return text.length;
            }
        };
    }

    @Test
    void holdsBackIncompleteCharacters() {
        byte[] text = "a😀é".getBytes(StandardCharsets.UTF_8); // 1 + 4 + 2 bytes
        TextDecoder decoder = new TextDecoder(bytesOf(text));
        StringBuilder emitted = new StringBuilder();
        String[] pieces = new String[text.length];
        for (int i = 0; i < text.length; i++) {
            pieces[i] = decoder.append(i);
            emitted.append(pieces[i]);
        }
        assertThat(pieces).containsExactly("a", "", "", "", "😀", "", "é");
        assertThat(emitted.append(decoder.finish()).toString()).isEqualTo("a😀é");
    }

    @Test
    void aTruncatedSequenceIsFlushedAtTheEnd() {
        byte[] text = {'x', (byte) 0xE2, (byte) 0x98};
        TextDecoder decoder = new TextDecoder(bytesOf(text));
        assertThat(decoder.append(0) + decoder.append(1) + decoder.append(2)).isEqualTo("x");
        assertThat(decoder.finish()).isEqualTo("\uFFFD");
        assertThat(TextDecoder.completeLength(new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0x98})).isZero();
    }
}
