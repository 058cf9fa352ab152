package dev.spikeconv.formats.tokenizer;

import dev.spikeconv.formats.io.InvalidInputException;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The regular expressions byte-level BPE models split text with before merging. A tokenizer.json brings its
 * own, so a pattern is untrusted input: it must compile, stay short, and a match that backtracks without end
 * is cut off by {@link #budgeted} instead of hanging.
 */
public final class PreTokenizerPatterns {
    public static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    public static final String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    public static final String QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Far longer than any published pre-tokenizer pattern (the ones above are under 200 characters). */
    static final int MAX_PATTERN_LENGTH = 4096;
    /** Character reads allowed per character of text: known patterns need a handful; catastrophic backtracking needs millions. */
    static final long READS_PER_CHARACTER = 10_000;

    private PreTokenizerPatterns() {}

    /** Compiles a pattern from a tokenizer file with Unicode classes, as the Rust and Oniguruma engines read it. */
    public static Pattern compile(String regex) {
        if (regex.length() > MAX_PATTERN_LENGTH) {
            throw new InvalidInputException("the pre-tokenizer regex has " + regex.length() + " characters, more than " + MAX_PATTERN_LENGTH);
        }
        try {
            return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        }
        catch (PatternSyntaxException e) {
            throw new InvalidInputException("the pre-tokenizer regex does not compile: " + e.getDescription() + " near index " + e.getIndex());
        }
    }

    /** {@code text} for a matcher, refusing (as invalid input) a pattern that reads it more than the budget allows. */
    static CharSequence budgeted(String text) {
        return new BudgetedText(text, READS_PER_CHARACTER * (text.length() + 1));
    }

    private static final class BudgetedText implements CharSequence {
        private final String text;
        private long reads;

        BudgetedText(String text, long reads) {
            this.text = text;
            this.reads = reads;
        }

        @Override
        public char charAt(int index) {
            if (--reads < 0) {
                throw new InvalidInputException("the pre-tokenizer regex backtracks without end on this text (" + text.length() + " characters)");
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return text.subSequence(start, end);
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
