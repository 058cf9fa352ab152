package dev.spikeconv.formats.tokenizer;

import java.util.OptionalInt;

/** Text to token ids and back, as the model was trained. */
public interface Tokenizer {
    /** The ids of {@code text}, without BOS; special tokens written in the text are recognised. */
    int[] encode(String text);

    /** {@code bos} followed by {@link #encode} when the model has one and {@code addBos} is set. */
    default int[] encode(String text, boolean addBos) {
        int[] ids = encode(text);
        if (!addBos || bosTokenId().isEmpty()) {
            return ids;
        }
        int[] withBos = new int[ids.length + 1];
        withBos[0] = bosTokenId().getAsInt();
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    /**
     * The bytes token {@code id} stands for when it follows {@code previousId} (-1 at the start):
     * control tokens give none, and the space a tokenizer adds in front of the text is dropped.
     */
    byte[] tokenBytes(int previousId, int id);

    OptionalInt bosTokenId();

    OptionalInt eosTokenId();

    int vocabularySize();

    /** The text of {@code ids}; bytes that do not form UTF-8 become U+FFFD. */
    default String decode(int[] ids) {
        TextDecoder decoder = new TextDecoder(this);
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            text.append(decoder.append(id));
        }
        return text.append(decoder.finish()).toString();
    }
}
