package dev.spikeconv.formats.gguf;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.io.LittleEndianReader;
import dev.spikeconv.formats.io.MappedFile;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A mapped GGUF file (versions 2 and 3, little-endian): its metadata and its tensors, with GGML's
 * dimension order reversed to row-major. Counts, lengths and offsets are checked against the file
 * size before anything is allocated.
 */
public final class GgufFile implements AutoCloseable {
    static final int MAGIC = 0x46554747; // "GGUF" read little-endian
    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMENSIONS = 4;
    static final int MAX_ARRAY_LENGTH = 1 << 24;
    static final int MAX_ARRAY_NESTING = 4;
    static final int MAX_NAME_BYTES = 1 << 16;

    private final MappedFile file;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, TensorView> tensors;

    private GgufFile(MappedFile file, int version, Map<String, Object> metadata, Map<String, TensorView> tensors) {
        this.file = file;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    public static GgufFile open(Path path) throws IOException {
        MappedFile file = MappedFile.open(path);
        try {
            return read(file);
        }
        catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static GgufFile read(MappedFile file) {
        Path path = file.path();
        LittleEndianReader reader = file.reader();
        int magic = reader.readInt32("magic");
        if (magic != MAGIC) {
            throw InvalidInputException.forField(path, "magic", "GGUF", String.format("0x%08x", magic));
        }
        int version = reader.readInt32("version");
        if (version != 2 && version != 3) {
            String found = Integer.reverseBytes(version) == 3 || Integer.reverseBytes(version) == 2 ? version + " (a big-endian file)" : String.valueOf(version);
            throw InvalidInputException.forField(path, "version", "2 or 3 (little-endian)", found);
        }
        long tensorCount = reader.readUint64("tensor count");
        long metadataCount = reader.readUint64("metadata count");
        // Every metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes; every tensor info at least 24.
        if (metadataCount > reader.remaining() / 13) {
            throw InvalidInputException.forField(path, "metadata count", "at most " + reader.remaining() / 13 + " for the file size", metadataCount);
        }
        if (tensorCount > reader.remaining() / 24) {
            throw InvalidInputException.forField(path, "tensor count", "at most " + reader.remaining() / 24 + " for the file size", tensorCount);
        }
        Map<String, Object> metadata = new LinkedHashMap<>();
        for (long i = 0; i < metadataCount; i++) {
            String key = readString(reader, "metadata key " + i);
            GgufValueType type = readType(reader, key);
            Object value = readValue(reader, type, key, 0);
            if (metadata.put(key, value) != null) {
                throw InvalidInputException.forField(path, "metadata key " + key, "a unique key", "a duplicate");
            }
        }
        int alignment = DEFAULT_ALIGNMENT;
        if (metadata.containsKey("general.alignment")) {
            long requested = integer(metadata.get("general.alignment"), "general.alignment", path);
            if (requested <= 0 || requested > (1 << 20) || Long.bitCount(requested) != 1) {
                throw InvalidInputException.forField(path, "general.alignment", "a power of two up to 2^20", requested);
            }
            alignment = (int) requested;
        }
        List<TensorInfo> infos = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            infos.add(readTensorInfo(reader, path, alignment));
        }
        long dataStart = (reader.position() + alignment - 1) / alignment * alignment;
        Map<String, TensorView> tensors = new LinkedHashMap<>();
        long previousEnd = 0;
        String previousName = null;
        for (TensorInfo info : infos.stream().sorted(Comparator.comparingLong(TensorInfo::offset)).toList()) {
            if (info.offset() < previousEnd) {
                throw InvalidInputException.forField(path, info.name() + " offset", "no overlap with " + previousName + " (ends at " + previousEnd + ")", info.offset());
            }
            if (dataStart + info.offset() + info.byteSize() > file.size() || dataStart + info.offset() < 0) {
                throw InvalidInputException.forField(path, info.name() + " data", "bytes within the file of " + file.size() + " bytes",
                        "[" + (dataStart + info.offset()) + ", " + (dataStart + info.offset() + info.byteSize()) + ")");
            }
            previousEnd = info.offset() + info.byteSize();
            previousName = info.name();
        }
        for (TensorInfo info : infos) {
            var data = file.slice(dataStart + info.offset(), info.byteSize(), info.name());
            TensorView tensor = info.type().isBlockQuantized()
                    ? new GgmlQuantizedTensor(info.name(), info.type(), info.shape(), data)
                    : new StoredTensor(info.name(), info.type(), info.shape(), data);
            if (tensors.put(info.name(), tensor) != null) {
                throw InvalidInputException.forField(path, "tensor " + info.name(), "a unique name", "a duplicate");
            }
        }
        return new GgufFile(file, version, Collections.unmodifiableMap(metadata), Collections.unmodifiableMap(tensors));
    }

    private record TensorInfo(String name, DType type, Shape shape, long offset, long byteSize) {}

    private static TensorInfo readTensorInfo(LittleEndianReader reader, Path path, int alignment) {
        String name = readString(reader, "tensor name");
        long dimensionCount = reader.readUint32(name + " dimension count");
        if (dimensionCount > MAX_DIMENSIONS) {
            throw InvalidInputException.forField(path, name + " dimension count", "at most " + MAX_DIMENSIONS, dimensionCount);
        }
        long[] dimensions = new long[(int) dimensionCount];
        for (int i = 0; i < dimensions.length; i++) {
            // GGML lists the fastest-varying dimension first; row-major order is the reverse.
            dimensions[dimensions.length - 1 - i] = reader.readUint64(name + " dimension " + i);
        }
        long typeId = reader.readUint32(name + " type");
        DType type = GgmlTypes.fromId(typeId).orElseThrow(() -> InvalidInputException.forField(path, name + " type",
                "a supported GGML type (F32, F16, BF16, F64, I8-I64, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)", typeId));
        long offset = reader.readUint64(name + " offset");
        if (offset % alignment != 0) {
            throw InvalidInputException.forField(path, name + " offset", "a multiple of the alignment " + alignment, offset);
        }
        Shape shape = Shape.of(dimensions);
        long byteSize;
        try {
            long elements = shape.elementCount();
            if (shape.columns() % type.elementsPerBlock() != 0) {
                throw InvalidInputException.forField(path, name + " shape", "rows of whole " + type + " blocks of " + type.elementsPerBlock(), shape);
            }
            byteSize = type.byteSize(elements);
        }
        catch (ArithmeticException e) {
            throw InvalidInputException.forField(path, name + " shape", "a size below 2^63 bytes", shape);
        }
        return new TensorInfo(name, type, shape, offset, byteSize);
    }

    private static String readString(LittleEndianReader reader, String field) {
        long length = reader.readUint64(field + " length");
        reader.require(length, field);
        return reader.readUtf8(length, field);
    }

    private static GgufValueType readType(LittleEndianReader reader, String key) {
        long id = reader.readUint32(key + " type");
        GgufValueType type = GgufValueType.fromId(id);
        if (type == null) {
            throw InvalidInputException.forField(reader.file(), key + " type", "a GGUF value type 0-12", id);
        }
        return type;
    }

    private static Object readValue(LittleEndianReader reader, GgufValueType type, String key, int nesting) {
        return switch (type) {
            case UINT8 -> reader.readUint8(key);
            case INT8 -> (int) reader.readInt8(key);
            case UINT16 -> reader.readUint16(key);
            case INT16 -> (int) reader.readInt16(key);
            case UINT32 -> reader.readUint32(key);
            case INT32 -> reader.readInt32(key);
            case FLOAT32 -> reader.readFloat32(key);
            case BOOL -> readBool(reader, key);
            case STRING -> readString(reader, key);
            case UINT64, INT64 -> reader.readInt64(key);
            case FLOAT64 -> reader.readFloat64(key);
            case ARRAY -> readArray(reader, key, nesting);
        };
    }

    private static boolean readBool(LittleEndianReader reader, String key) {
        int value = reader.readUint8(key);
        if (value > 1) {
            throw InvalidInputException.forField(reader.file(), key, "a bool (0 or 1)", value);
        }
        return value == 1;
    }

    private static GgufArray readArray(LittleEndianReader reader, String key, int nesting) {
        if (nesting >= MAX_ARRAY_NESTING) {
            throw InvalidInputException.forField(reader.file(), key, "arrays nested at most " + MAX_ARRAY_NESTING + " deep", "deeper nesting");
        }
        GgufValueType elementType = readType(reader, key + " element");
        long count = reader.readUint64(key + " length");
        if (count > MAX_ARRAY_LENGTH || count * elementType.minimumBytes() > reader.remaining()) {
            throw InvalidInputException.forField(reader.file(), key + " length",
                    "at most " + Math.min(MAX_ARRAY_LENGTH, reader.remaining() / elementType.minimumBytes()) + " elements", count);
        }
        int length = (int) count;
        Object values = switch (elementType) {
            case UINT8, INT8, UINT16, INT16, INT32 -> {
                int[] array = new int[length];
                for (int i = 0; i < length; i++) {
                    array[i] = ((Number) readValue(reader, elementType, key, nesting + 1)).intValue();
                }
                yield array;
            }
            case UINT32, UINT64, INT64 -> {
                long[] array = new long[length];
                for (int i = 0; i < length; i++) {
                    array[i] = ((Number) readValue(reader, elementType, key, nesting + 1)).longValue();
                }
                yield array;
            }
            case FLOAT32 -> {
                float[] array = new float[length];
                for (int i = 0; i < length; i++) {
                    array[i] = reader.readFloat32(key);
                }
                yield array;
            }
            case FLOAT64 -> {
                double[] array = new double[length];
                for (int i = 0; i < length; i++) {
                    array[i] = reader.readFloat64(key);
                }
                yield array;
            }
            case BOOL -> {
                boolean[] array = new boolean[length];
                for (int i = 0; i < length; i++) {
                    array[i] = readBool(reader, key);
                }
                yield array;
            }
            case STRING -> {
                String[] array = new String[length];
                for (int i = 0; i < length; i++) {
                    array[i] = readString(reader, key + "[" + i + "]");
                }
                yield array;
            }
            case ARRAY -> {
                GgufArray[] array = new GgufArray[length];
                for (int i = 0; i < length; i++) {
                    array[i] = readArray(reader, key + "[" + i + "]", nesting + 1);
                }
                yield array;
            }
        };
        return new GgufArray(elementType, values, length);
    }

    private static long integer(Object value, String key, Path path) {
        if (value instanceof Integer || value instanceof Long) {
            return ((Number) value).longValue();
        }
        throw InvalidInputException.forField(path, key, "an integer", value == null ? "nothing" : value.getClass().getSimpleName());
    }

    public Path path() {
        return file.path();
    }

    public int version() {
        return version;
    }

    /** Metadata in file order; values as described in {@link GgufArray} and boxed scalars. */
    public Map<String, Object> metadata() {
        return metadata;
    }

    /** Tensors by GGUF name, in file order, with row-major shapes. */
    public Map<String, TensorView> tensors() {
        return tensors;
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    public String requireString(String key) {
        if (metadata.get(key) instanceof String value) {
            return value;
        }
        throw InvalidInputException.forField(path(), key, "a string", describe(metadata.get(key)));
    }

    public Optional<String> optionalString(String key) {
        return has(key) ? Optional.of(requireString(key)) : Optional.empty();
    }

    public int requireInt(String key) {
        long value = integer(metadata.get(key), key, path());
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw InvalidInputException.forField(path(), key, "a 32-bit integer", value);
        }
        return (int) value;
    }

    public OptionalInt optionalInt(String key) {
        return has(key) ? OptionalInt.of(requireInt(key)) : OptionalInt.empty();
    }

    /** A number; a float32 value becomes the double of its shortest decimal form (1e-5f is 1e-5, not 9.99999975e-6). */
    public double requireNumber(String key) {
        if (metadata.get(key) instanceof Float value) {
            return Double.parseDouble(value.toString());
        }
        if (metadata.get(key) instanceof Number value) {
            return value.doubleValue();
        }
        throw InvalidInputException.forField(path(), key, "a number", describe(metadata.get(key)));
    }

    public Optional<GgufArray> optionalArray(String key) {
        if (!has(key)) {
            return Optional.empty();
        }
        if (metadata.get(key) instanceof GgufArray array) {
            return Optional.of(array);
        }
        throw InvalidInputException.forField(path(), key, "an array", describe(metadata.get(key)));
    }

    private static String describe(Object value) {
        return value == null ? "nothing" : value instanceof GgufArray ? "an array" : value.getClass().getSimpleName() + " " + value;
    }

    @Override
    public void close() {
        file.close();
    }
}
