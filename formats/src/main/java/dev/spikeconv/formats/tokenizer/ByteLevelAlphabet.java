package dev.spikeconv.formats.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * GPT-2's reversible map from bytes to printable characters, which byte-level BPE vocabularies are
 * written in (a space is {@code Ġ}, a newline {@code Ċ}).
 */
final class ByteLevelAlphabet {
    private static final char[] CHARACTER_OF_BYTE = new char[256];
    private static final int[] BYTE_OF_CHARACTER = new int[512];

    static {
        Arrays.fill(BYTE_OF_CHARACTER, -1);
        int extra = 0;
        for (int value = 0; value < 256; value++) {
            boolean printable = (value >= '!' && value <= '~') || (value >= 0xA1 && value <= 0xAC) || (value >= 0xAE && value <= 0xFF);
            char character = printable ? (char) value : (char) (256 + extra++);
            CHARACTER_OF_BYTE[value] = character;
            BYTE_OF_CHARACTER[character] = value;
        }
    }

    private ByteLevelAlphabet() {}

    static String encode(byte[] bytes) {
        StringBuilder text = new StringBuilder(bytes.length);
        for (byte value : bytes) {
            text.append(CHARACTER_OF_BYTE[value & 0xFF]);
        }
        return text.toString();
    }

    /** The bytes a piece stands for; characters outside the alphabet are kept as their UTF-8. */
    static byte[] decode(String piece) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(piece.length());
        for (int i = 0; i < piece.length(); i++) {
            char character = piece.charAt(i);
            int value = character < BYTE_OF_CHARACTER.length ? BYTE_OF_CHARACTER[character] : -1;
            if (value >= 0) {
                bytes.write(value);
            }
            else {
                bytes.writeBytes(String.valueOf(character).getBytes(StandardCharsets.UTF_8));
            }
        }
        return bytes.toByteArray();
    }
}
