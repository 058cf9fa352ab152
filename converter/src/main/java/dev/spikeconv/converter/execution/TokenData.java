package dev.spikeconv.converter.execution;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.tokenizer.Tokenizer;
import dev.spikeconv.formats.tokenizer.TokenizerLoader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Tokens for calibration and evaluation from a file: a token-id file (integers separated by spaces,
 * commas or newlines) is used as given; anything else is text, tokenized with BOS first. Only the
 * start of a large file is read: enough for the tokens asked for.
 */
public final class TokenData {
    private static final Pattern TOKEN_IDS = Pattern.compile("[\\d,\\s]+");
    /** Characters read per token wanted; text is re-read with more when it falls short. */
    private static final int CHARACTERS_PER_TOKEN = 16;

    private TokenData() {}

    public static boolean isTokenIdFile(Path file) throws IOException {
        String head = readStart(file, 4096);
        return !head.isBlank() && TOKEN_IDS.matcher(head).matches();
    }

    /**
     * Tokens {@code [skip, skip + count)} of {@code data} for {@code model}: ids as given, or text through
     * {@code tokenizerFile} (null: the model's own tokenizer). Fewer than 2 tokens are refused: {@code command} needs a pair.
     */
    public static int[] forModel(Path data, Path tokenizerFile, Path model, int vocabularySize, int skip, int count, String command) throws IOException {
        Tokenizer tokenizer = null;
        if (!isTokenIdFile(data)) {
            tokenizer = tokenizerFile != null ? TokenizerLoader.fromFile(tokenizerFile, vocabularySize)
                    : TokenizerLoader.forModel(model, vocabularySize).orElse(null);
        }
        int[] tokens = tokens(data, skip, count, tokenizer, vocabularySize);
        if (tokens.length < 2) {
            throw InvalidInputException.forFile(data, "gives " + tokens.length + " token(s); " + command + " needs at least 2");
        }
        return tokens;
    }

    /** The first {@code count} tokens (fewer if the file ends); {@code tokenizer} may be null for a token-id file. */
    public static int[] tokens(Path file, int count, Tokenizer tokenizer, int vocabularySize) throws IOException {
        return tokens(file, 0, count, tokenizer, vocabularySize);
    }

    /** {@code tokens} cut into sequences of {@code length} (the last one shorter when they do not divide evenly). */
    public static List<int[]> sequences(int[] tokens, int length) {
        List<int[]> sequences = new ArrayList<>();
        for (int start = 0; start < tokens.length; start += length) {
            sequences.add(Arrays.copyOfRange(tokens, start, Math.min(tokens.length, start + length)));
        }
        return sequences;
    }

    /** Tokens {@code [skip, skip + count)} of the file (fewer if it ends), e.g. to evaluate on text calibration did not see. */
    public static int[] tokens(Path file, int skip, int count, Tokenizer tokenizer, int vocabularySize) throws IOException {
        int[] all = firstTokens(file, Math.addExact(skip, count), tokenizer, vocabularySize);
        return Arrays.copyOfRange(all, Math.min(skip, all.length), all.length);
    }

    private static int[] firstTokens(Path file, int count, Tokenizer tokenizer, int vocabularySize) throws IOException {
        if (isTokenIdFile(file)) {
            String text = readStart(file, (long) count * 12 + 64);
            return Arrays.stream(text.strip().split("[,\\s]+")).filter(part -> !part.isEmpty()).limit(count)
                    .mapToInt(part -> parseId(part, file, vocabularySize)).toArray();
        }
        if (tokenizer == null) {
            throw new InvalidOptionException("tokenizer", "is needed: " + file + " is text, and the model has no tokenizer of its own");
        }
        long characters = (long) count * CHARACTERS_PER_TOKEN;
        while (true) {
            String text = readStart(file, characters);
            checkText(file, text);
            int[] ids = tokenizer.encode(text, true);
            boolean wholeFile = text.length() < characters;
            if (ids.length >= count || wholeFile) {
                return Arrays.copyOf(ids, Math.min(count, ids.length));
            }
            characters *= 2;
        }
    }

    private static int parseId(String text, Path file, int vocabularySize) {
        try {
            int id = Integer.parseInt(text);
            if (id < 0 || id >= vocabularySize) {
                throw InvalidInputException.forField(file, "token " + text, "an id below the vocabulary size " + vocabularySize, id);
            }
            return id;
        }
        catch (NumberFormatException e) {
            throw InvalidInputException.forField(file, "token", "a 32-bit integer", text);
        }
    }

    /** Refuses data that is not text: a NUL, or more than 1% of characters that were not valid UTF-8 (a checkpoint passed as data, say). */
    private static void checkText(Path file, String text) {
        long invalid = 0;
        for (int i = 0; i < text.length(); i++) {
            char character = text.charAt(i);
            if (character == 0) {
                throw InvalidInputException.forFile(file, "is not text: it holds NUL bytes (give text, or token ids separated by spaces, commas or newlines)");
            }
            invalid += character == '\uFFFD' ? 1 : 0;
        }
        if (invalid > Math.max(8, text.length() / 100)) {
            throw InvalidInputException.forFile(file, "is not UTF-8 text: " + invalid + " of its first " + text.length() + " characters are invalid");
        }
    }

    /** The first {@code characters} characters of a UTF-8 file (a character cut in half at the end is dropped). */
    private static String readStart(Path file, long characters) throws IOException {
        long bytes = Math.min(Files.size(file), Math.min(Integer.MAX_VALUE - 8, characters * 4));
        byte[] buffer = new byte[(int) bytes];
        try (InputStream in = Files.newInputStream(file)) {
            int read = in.readNBytes(buffer, 0, buffer.length);
            String text = new String(buffer, 0, read, StandardCharsets.UTF_8);
            if (text.endsWith("\uFFFD")) {
                text = text.substring(0, text.length() - 1);
            }
            return text.length() > characters ? text.substring(0, (int) characters) : text;
        }
    }
}
