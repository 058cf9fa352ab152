package dev.spikeconv.formats.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.spikeconv.formats.io.InvalidInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads JSON documents from untrusted files with bounded size and nesting, refusing duplicate keys
 * and trailing content, and turns every parse failure into a one-line input error.
 */
public final class JsonDocuments {
    /** Deep enough for every document spikeconv reads, shallow enough that no input can exhaust the stack. */
    public static final int MAX_NESTING_DEPTH = 64;

    private static final ObjectMapper WRITER = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private JsonDocuments() {}

    /** Reads a JSON file of at most {@code maxBytes} bytes. */
    public static JsonNode read(Path file, long maxBytes) throws IOException {
        long size = Files.size(file);
        if (size > maxBytes) {
            throw InvalidInputException.forField(file, "size", "a JSON document of at most " + maxBytes + " bytes", size + " bytes");
        }
        return parse(Files.readAllBytes(file), file, "document");
    }

    /** Parses JSON bytes that came from {@code file} (for messages); {@code what} names the part of the file. */
    public static JsonNode parse(byte[] json, Path file, String what) {
        try {
            return mapper(json.length).readTree(json);
        }
        catch (JsonProcessingException e) {
            String location = e.getLocation() == null ? "" : " at offset " + e.getLocation().getByteOffset();
            throw InvalidInputException.forFile(file, what + " is not valid JSON" + location + ": " + firstLine(e.getOriginalMessage()));
        }
        catch (IOException e) {
            throw InvalidInputException.forFile(file, what + " could not be parsed: " + firstLine(e.getMessage()));
        }
    }

    /** A pretty-printing mapper for the documents spikeconv writes. */
    public static ObjectMapper writer() {
        return WRITER;
    }

    private static ObjectMapper mapper(long maxDocumentLength) {
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(MAX_NESTING_DEPTH)
                        .maxDocumentLength(Math.max(1, maxDocumentLength))
                        .build())
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build();
        return JsonMapper.builder(factory)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .build();
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
