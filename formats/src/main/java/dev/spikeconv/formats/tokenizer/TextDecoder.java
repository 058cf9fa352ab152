package dev.spikeconv.formats.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Decodes a stream of tokens into text as it arrives: a character split over several byte tokens is
 * held back until it is complete, so streamed output never shows half a character.
 */
public final class TextDecoder {
    private final Tokenizer tokenizer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private int previousId = -1;

    public TextDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** The text that token {@code id} completes (possibly empty). */
    public String append(int id) {
        pending.writeBytes(tokenizer.tokenBytes(previousId, id));
        previousId = id;
        byte[] bytes = pending.toByteArray();
        int complete = completeLength(bytes);
        pending.reset();
        pending.write(bytes, complete, bytes.length - complete);
        return new String(bytes, 0, complete, StandardCharsets.UTF_8);
    }

    /** Whatever is still held back, decoded as it is. */
    public String finish() {
        String rest = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return rest;
    }

    /** Length of the prefix of {@code bytes} that does not end inside an incomplete UTF-8 sequence. */
    static int completeLength(byte[] bytes) {
        int end = bytes.length;
        // Look back at most 3 bytes for the lead byte of a sequence that needs more continuation bytes.
        for (int back = 1; back <= Math.min(3, end); back++) {
            int value = bytes[end - back] & 0xFF;
            if ((value & 0xC0) == 0x80) {
                continue; // continuation byte
            }
            int needed = value >= 0xF0 ? 4 : value >= 0xE0 ? 3 : value >= 0xC0 ? 2 : 1;
            return needed > back ? end - back : end;
        }
        return end;
    }
}
