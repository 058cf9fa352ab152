package dev.spikeconv.formats.json;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.io.InvalidInputException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/** Typed access to the fields of a JSON object read from a file, with errors naming file and field. */
public final class JsonFields {
    private final Path file;
    private final JsonNode object;
    private final String prefix;

    private JsonFields(Path file, JsonNode object, String prefix) {
        this.file = file;
        this.object = object;
        this.prefix = prefix;
    }

    /** The fields of {@code node}, which must be an object; {@code path} names it in messages ("" for the root). */
    public static JsonFields of(Path file, JsonNode node, String path) {
        if (node == null || !node.isObject()) {
            throw InvalidInputException.forField(file, path.isEmpty() ? "root" : path, "a JSON object", describe(node));
        }
        return new JsonFields(file, node, path.isEmpty() ? "" : path + ".");
    }

    public Path file() {
        return file;
    }

    public JsonNode node() {
        return object;
    }

    public boolean has(String field) {
        JsonNode value = object.get(field);
        return value != null && !value.isNull();
    }

    public String fieldPath(String field) {
        return prefix + field;
    }

    public JsonFields object(String field) {
        return of(file, require(field), fieldPath(field));
    }

    public Optional<JsonFields> optionalObject(String field) {
        return has(field) ? Optional.of(object(field)) : Optional.empty();
    }

    public JsonNode require(String field) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            throw InvalidInputException.forField(file, fieldPath(field), "a value", "nothing");
        }
        return value;
    }

    public int requirePositiveInt(String field) {
        int value = requireInt(field);
        if (value <= 0) {
            throw InvalidInputException.forField(file, fieldPath(field), "a positive integer", value);
        }
        return value;
    }

    public int requireInt(String field) {
        return toInt(require(field), field);
    }

    public OptionalInt optionalInt(String field) {
        return has(field) ? OptionalInt.of(requireInt(field)) : OptionalInt.empty();
    }

    public double requireDouble(String field) {
        JsonNode value = require(field);
        if (!value.isNumber() || !Double.isFinite(value.doubleValue())) {
            throw InvalidInputException.forField(file, fieldPath(field), "a finite number", describe(value));
        }
        return value.doubleValue();
    }

    public OptionalDouble optionalDouble(String field) {
        return has(field) ? OptionalDouble.of(requireDouble(field)) : OptionalDouble.empty();
    }

    public boolean requireBoolean(String field) {
        JsonNode value = require(field);
        if (!value.isBoolean()) {
            throw InvalidInputException.forField(file, fieldPath(field), "true or false", describe(value));
        }
        return value.booleanValue();
    }

    public Optional<Boolean> optionalBoolean(String field) {
        return has(field) ? Optional.of(requireBoolean(field)) : Optional.empty();
    }

    public String requireString(String field) {
        JsonNode value = require(field);
        if (!value.isTextual()) {
            throw InvalidInputException.forField(file, fieldPath(field), "a string", describe(value));
        }
        return value.textValue();
    }

    public Optional<String> optionalString(String field) {
        return has(field) ? Optional.of(requireString(field)) : Optional.empty();
    }

    public JsonNode requireArray(String field) {
        JsonNode value = require(field);
        if (!value.isArray()) {
            throw InvalidInputException.forField(file, fieldPath(field), "an array", describe(value));
        }
        return value;
    }

    /** An integer element of an array field, e.g. {@code attn_layers[3]}. */
    public int toInt(JsonNode value, String field) {
        if (!value.isIntegralNumber() || !value.canConvertToInt()) {
            throw InvalidInputException.forField(file, fieldPath(field), "a 32-bit integer", describe(value));
        }
        return value.intValue();
    }

    /** A short description of a JSON value for messages, never the whole value. */
    public static String describe(JsonNode value) {
        if (value == null || value.isMissingNode()) {
            return "nothing";
        }
        if (value.isObject()) {
            return "an object";
        }
        if (value.isArray()) {
            return "an array";
        }
        String text = value.toString();
        return text.length() > 60 ? text.substring(0, 57) + "..." : text;
    }
}
