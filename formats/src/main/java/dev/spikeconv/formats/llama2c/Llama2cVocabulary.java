package dev.spikeconv.formats.llama2c;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.io.LittleEndianReader;
import dev.spikeconv.formats.io.MappedFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The pieces and merge scores of a llama2.c {@code tokenizer.bin}: {@code u32 max_token_length}, then
 * per token {@code f32 score, i32 length, bytes}. Pieces are raw bytes; byte tokens look like {@code <0x0A>}.
 */
public record Llama2cVocabulary(int maxTokenLength, List<byte[]> pieces, float[] scores) {
    static final int MAX_TOKENS = 1 << 24;

    public Llama2cVocabulary {
        pieces = List.copyOf(pieces);
        scores = scores.clone();
    }

    @Override
    public float[] scores() {
        return scores.clone();
    }

    public int size() {
        return pieces.size();
    }

    /** Reads every token up to the end of the file; {@code expectedSize} is the model's vocab size, or 0 to accept any. */
    public static Llama2cVocabulary read(Path path, int expectedSize) throws IOException {
        try (MappedFile file = MappedFile.open(path)) {
            LittleEndianReader reader = file.reader();
            long maxTokenLength = reader.readUint32("max_token_length");
            List<byte[]> pieces = new ArrayList<>();
            List<Float> scores = new ArrayList<>();
            while (reader.remaining() > 0) {
                if (pieces.size() >= MAX_TOKENS) {
                    throw InvalidInputException.forField(path, "token count", "at most " + MAX_TOKENS, "more");
                }
                String field = "token " + pieces.size();
                scores.add(reader.readFloat32(field + " score"));
                int length = reader.readInt32(field + " length");
                if (length < 0 || length > maxTokenLength) {
                    throw InvalidInputException.forField(path, field + " length", "0 to max_token_length " + maxTokenLength, length);
                }
                pieces.add(reader.readBytes(length, field));
            }
            if (expectedSize > 0 && pieces.size() != expectedSize) {
                throw InvalidInputException.forField(path, "token count", expectedSize + " (the model's vocab size)", pieces.size());
            }
            float[] scoreArray = new float[scores.size()];
            for (int i = 0; i < scoreArray.length; i++) {
                scoreArray[i] = scores.get(i);
            }
            return new Llama2cVocabulary((int) maxTokenLength, pieces, scoreArray);
        }
    }
}
