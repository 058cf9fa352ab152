package dev.spikeconv.formats.gguf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes a GGUF v3 file that holds metadata only, no tensors, with values as {@link GgufFile} reads
 * them. spikeconv keeps a GGUF source's tokenizer this way ({@code tokenizer.gguf} in a bundle).
 */
public final class GgufMetadataWriter {
    private GgufMetadataWriter() {}

    public static void write(Path file, Map<String, Object> metadata) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(buffer(24).putInt(GgufFile.MAGIC).putInt(3).putLong(0).putLong(metadata.size()).array());
        for (Map.Entry<String, Object> entry : metadata.entrySet()) {
            writeString(out, entry.getKey());
            writeValue(out, entry.getValue(), entry.getKey());
        }
        Files.write(file, out.toByteArray());
    }

    private static void writeValue(ByteArrayOutputStream out, Object value, String key) {
        switch (value) {
            case Integer number -> out.writeBytes(buffer(8).putInt(GgufValueType.INT32.id()).putInt(number).array());
            case Long number -> out.writeBytes(buffer(12).putInt(GgufValueType.INT64.id()).putLong(number).array());
            case Float number -> out.writeBytes(buffer(8).putInt(GgufValueType.FLOAT32.id()).putFloat(number).array());
            case Double number -> out.writeBytes(buffer(12).putInt(GgufValueType.FLOAT64.id()).putDouble(number).array());
            case Boolean flag -> {
                out.writeBytes(buffer(4).putInt(GgufValueType.BOOL.id()).array());
                out.write(flag ? 1 : 0);
            }
            case String text -> {
                out.writeBytes(buffer(4).putInt(GgufValueType.STRING.id()).array());
                writeString(out, text);
            }
            case GgufArray array -> {
                out.writeBytes(buffer(4).putInt(GgufValueType.ARRAY.id()).array());
                writeArray(out, array, key);
            }
            default -> throw new IllegalArgumentException(key + ": no GGUF type for " + value.getClass().getSimpleName());
        }
    }

    private static void writeArray(ByteArrayOutputStream out, GgufArray array, String key) {
        switch (array.values()) {
            case int[] values -> {
                out.writeBytes(buffer(12).putInt(GgufValueType.INT32.id()).putLong(values.length).array());
                ByteBuffer bytes = buffer(4 * values.length);
                bytes.asIntBuffer().put(values);
                out.writeBytes(bytes.array());
            }
            case long[] values -> {
                out.writeBytes(buffer(12).putInt(GgufValueType.INT64.id()).putLong(values.length).array());
                ByteBuffer bytes = buffer(8 * values.length);
                bytes.asLongBuffer().put(values);
                out.writeBytes(bytes.array());
            }
            case float[] values -> {
                out.writeBytes(buffer(12).putInt(GgufValueType.FLOAT32.id()).putLong(values.length).array());
                ByteBuffer bytes = buffer(4 * values.length);
                bytes.asFloatBuffer().put(values);
                out.writeBytes(bytes.array());
            }
            case double[] values -> {
                out.writeBytes(buffer(12).putInt(GgufValueType.FLOAT64.id()).putLong(values.length).array());
                ByteBuffer bytes = buffer(8 * values.length);
                bytes.asDoubleBuffer().put(values);
                out.writeBytes(bytes.array());
            }
            case boolean[] values -> {
                out.writeBytes(buffer(12).putInt(GgufValueType.BOOL.id()).putLong(values.length).array());
                for (boolean flag : values) {
                    out.write(flag ? 1 : 0);
                }
            }
            case String[] values -> {
                out.writeBytes(buffer(12).putInt(GgufValueType.STRING.id()).putLong(values.length).array());
                for (String text : values) {
                    writeString(out, text);
                }
            }
            case GgufArray[] values -> {
                out.writeBytes(buffer(12).putInt(GgufValueType.ARRAY.id()).putLong(values.length).array());
                for (GgufArray nested : values) {
                    writeArray(out, nested, key);
                }
            }
            default -> throw new IllegalArgumentException(key + ": no GGUF array type for " + array.values().getClass().getSimpleName());
        }
    }

    private static void writeString(ByteArrayOutputStream out, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        out.writeBytes(buffer(8).putLong(bytes.length).array());
        out.writeBytes(bytes);
    }

    private static ByteBuffer buffer(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
