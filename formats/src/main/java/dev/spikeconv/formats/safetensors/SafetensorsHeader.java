package dev.spikeconv.formats.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.json.JsonFields;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON header of a safetensors file, validated against the size of its data section: every
 * tensor's byte range matches its dtype and shape, and the ranges tile the data without holes or
 * overlaps, as the format requires.
 */
public record SafetensorsHeader(List<Entry> entries, Map<String, String> metadata) {
    /** Headers above this are refused, as the reference implementation does. */
    public static final long MAX_HEADER_BYTES = 100_000_000;
    static final int MAX_RANK = 16;

    /** One tensor: byte range relative to the start of the data section. */
    public record Entry(String name, DType dtype, Shape shape, long begin, long end) {
        public long byteSize() {
            return end - begin;
        }
    }

    public SafetensorsHeader {
        entries = List.copyOf(entries);
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** Parses and validates {@code json}; {@code dataSize} is the size of the data section after the header. */
    public static SafetensorsHeader parse(byte[] json, long dataSize, Path file) {
        JsonFields root = JsonFields.of(file, JsonDocuments.parse(json, file, "header"), "header");
        List<Entry> entries = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.node().properties()) {
            String name = field.getKey();
            if (name.equals("__metadata__")) {
                JsonFields values = JsonFields.of(file, field.getValue(), "__metadata__");
                for (Map.Entry<String, JsonNode> item : values.node().properties()) {
                    metadata.put(item.getKey(), values.requireString(item.getKey()));
                }
                continue;
            }
            entries.add(parseEntry(name, JsonFields.of(file, field.getValue(), name), file));
        }
        checkTiling(entries, dataSize, file);
        return new SafetensorsHeader(entries, metadata);
    }

    private static Entry parseEntry(String name, JsonFields fields, Path file) {
        String dtypeName = fields.requireString("dtype");
        DType dtype = DType.fromSafetensorsName(dtypeName).orElseThrow(() -> InvalidInputException.forField(file, fields.fieldPath("dtype"),
                "one of F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL", dtypeName));
        JsonNode shapeNode = fields.requireArray("shape");
        if (shapeNode.size() > MAX_RANK) {
            throw InvalidInputException.forField(file, fields.fieldPath("shape"), "at most " + MAX_RANK + " dimensions", shapeNode.size());
        }
        long[] dimensions = new long[shapeNode.size()];
        for (int i = 0; i < dimensions.length; i++) {
            JsonNode dimension = shapeNode.get(i);
            if (!dimension.isIntegralNumber() || !dimension.canConvertToLong() || dimension.longValue() < 0) {
                throw InvalidInputException.forField(file, fields.fieldPath("shape"), "non-negative integers", shapeNode);
            }
            dimensions[i] = dimension.longValue();
        }
        Shape shape = Shape.of(dimensions);
        JsonNode offsets = fields.requireArray("data_offsets");
        if (offsets.size() != 2 || !isOffset(offsets.get(0)) || !isOffset(offsets.get(1))
                || offsets.get(0).longValue() > offsets.get(1).longValue()) {
            throw InvalidInputException.forField(file, fields.fieldPath("data_offsets"), "[begin, end] with 0 <= begin <= end", offsets);
        }
        long begin = offsets.get(0).longValue();
        long end = offsets.get(1).longValue();
        long expectedBytes;
        try {
            expectedBytes = dtype.byteSize(shape.elementCount());
        }
        catch (ArithmeticException e) {
            throw InvalidInputException.forField(file, fields.fieldPath("shape"), "an element count below 2^63", shape);
        }
        if (end - begin != expectedBytes) {
            throw InvalidInputException.forField(file, fields.fieldPath("data_offsets"),
                    expectedBytes + " bytes for " + dtype + " " + shape, (end - begin) + " bytes");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static boolean isOffset(JsonNode node) {
        return node.isIntegralNumber() && node.canConvertToLong() && node.longValue() >= 0;
    }

    private static void checkTiling(List<Entry> entries, long dataSize, Path file) {
        Entry[] sorted = entries.toArray(Entry[]::new);
        Arrays.sort(sorted, Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expectedBegin = 0;
        for (Entry entry : sorted) {
            if (entry.begin() != expectedBegin) {
                String problem = entry.begin() < expectedBegin ? "overlaps the tensor before it" : "leaves a hole before it";
                throw InvalidInputException.forField(file, entry.name() + ".data_offsets",
                        "begin " + expectedBegin + " (tensors must tile the data section)", entry.begin() + ", which " + problem);
            }
            expectedBegin = entry.end();
        }
        if (expectedBegin != dataSize) {
            throw InvalidInputException.forField(file, "data section", expectedBegin + " bytes as the header describes",
                    dataSize + " bytes" + (dataSize < expectedBegin ? " (truncated)" : " (trailing bytes)"));
        }
    }
}
