package dev.spikeconv.formats.io;

import java.nio.file.Path;

/**
 * A file that does not hold what its format requires: corrupt, truncated, hostile or unsupported.
 * The message is one line naming the file, the field and what was expected; the CLI exits 65 with it.
 */
public class InvalidInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }

    /** "{file}: {field}: expected {expected}, found {found}". */
    public static InvalidInputException forField(Path file, String field, String expected, Object found) {
        return new InvalidInputException(file + ": " + field + ": expected " + expected + ", found " + found);
    }

    /** "{file}: {problem}". */
    public static InvalidInputException forFile(Path file, String problem) {
        return new InvalidInputException(file + ": " + problem);
    }
}
