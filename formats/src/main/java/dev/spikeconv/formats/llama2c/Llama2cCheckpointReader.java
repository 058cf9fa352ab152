package dev.spikeconv.formats.llama2c;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.io.LittleEndianReader;
import dev.spikeconv.formats.io.MappedFile;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.CheckpointFormat;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.RowPermutedTensor;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads Karpathy's llama2.c checkpoints: the legacy export (seven int32s, then float32 tensors; a
 * negative vocab size means an untied classifier at the end) and the version 1 export ({@code ak42},
 * 256-byte header, float32). q/k rows use interleaved-pair RoPE there and are put into rotate-half
 * order here. Weights are stacked per kind ({@code wq} of every layer, then {@code wk}, ...).
 */
public final class Llama2cCheckpointReader {
    static final int VERSIONED_MAGIC = 0x616b3432; // "ak42" read little-endian
    static final int LEGACY_HEADER_BYTES = 7 * 4;
    static final int VERSIONED_HEADER_BYTES = 256;

    private Llama2cCheckpointReader() {}

    /** The header fields, as the export wrote them. */
    record Header(int version, int dimension, int hiddenDimension, int layers, int heads, int keyValueHeads,
            int vocabularySize, int maxSequenceLength, boolean sharedClassifier) {
        int headSize() {
            return dimension / heads;
        }
    }

    /** Whether the file holds a llama2.c checkpoint whose header matches the file size. */
    public static boolean isCheckpoint(MappedFile file) {
        try {
            Header header = readHeader(file);
            return expectedSize(header) == file.size();
        }
        catch (InvalidInputException | ArithmeticException e) {
            return false;
        }
    }

    public static ModelDescription load(Path path) throws IOException {
        MappedFile file = MappedFile.open(path);
        ModelConfig config;
        Map<String, TensorView> tensors;
        try {
            Header header = readHeader(file);
            long expected;
            try {
                expected = expectedSize(header);
            }
            catch (ArithmeticException e) {
                throw InvalidInputException.forField(path, "header", "dimensions whose weights fit in a file", describe(header));
            }
            if (expected != file.size()) {
                throw InvalidInputException.forField(path, "size", expected + " bytes for the header's dimensions " + describe(header), file.size() + " bytes");
            }
            config = ModelConfig.builder(Architecture.LLAMA)
                    .vocabularySize(header.vocabularySize())
                    .hiddenSize(header.dimension())
                    .intermediateSize(header.hiddenDimension())
                    .headCount(header.heads())
                    .keyValueHeadCount(header.keyValueHeads())
                    .headDimension(header.headSize())
                    .normEpsilon(1e-5)
                    .ropeTheta(10000)
                    .maxPositions(header.maxSequenceLength())
                    .tiedEmbeddings(header.sharedClassifier())
                    .softmaxLayers(header.layers())
                    .bosTokenId(1)
                    .eosTokenId(2)
                    .build(path);
            tensors = header.version() == 0 ? legacyTensors(file, header) : versionOneTensors(file, header);
        }
        catch (RuntimeException e) {
            file.close();
            throw e;
        }
        return ModelDescription.assemble(CheckpointFormat.LLAMA2C, config, tensors, List.of(path), List.of(file), path); // closes on failure
    }

    static Header readHeader(MappedFile file) {
        LittleEndianReader reader = file.reader();
        Path path = file.path();
        int first = reader.readInt32("header");
        if (first == VERSIONED_MAGIC) {
            int version = reader.readInt32("version");
            if (version != 1) {
                throw InvalidInputException.forField(path, "version", "1 (float32 export); version 2 (int8) is not supported", version);
            }
            int[] fields = readFields(reader, 7);
            boolean shared = reader.readUint8("shared_classifier") != 0;
            return checked(new Header(1, fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], shared), path);
        }
        reader.seek(0, "header");
        int[] fields = readFields(reader, 7);
        int vocabulary = fields[5];
        return checked(new Header(0, fields[0], fields[1], fields[2], fields[3], fields[4], Math.abs(vocabulary), fields[6], vocabulary > 0), path);
    }

    private static int[] readFields(LittleEndianReader reader, int count) {
        int[] fields = new int[count];
        for (int i = 0; i < count; i++) {
            fields[i] = reader.readInt32("header field " + i);
        }
        return fields;
    }

    private static Header checked(Header header, Path path) {
        if (header.dimension() <= 0 || header.hiddenDimension() <= 0 || header.layers() <= 0 || header.heads() <= 0
                || header.keyValueHeads() <= 0 || header.vocabularySize() <= 0 || header.maxSequenceLength() <= 0
                || header.vocabularySize() == Integer.MIN_VALUE) {
            throw InvalidInputException.forField(path, "header", "positive dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len", describe(header));
        }
        if (header.dimension() % header.heads() != 0 || header.heads() % header.keyValueHeads() != 0 || header.headSize() % 2 != 0) {
            throw InvalidInputException.forField(path, "header", "dim divisible by n_heads into even head sizes, n_heads divisible by n_kv_heads", describe(header));
        }
        return header;
    }

    private static String describe(Header header) {
        return String.format("dim=%d hidden_dim=%d n_layers=%d n_heads=%d n_kv_heads=%d vocab_size=%d seq_len=%d",
                header.dimension(), header.hiddenDimension(), header.layers(), header.heads(), header.keyValueHeads(),
                header.vocabularySize(), header.maxSequenceLength());
    }

    /** File size the header implies; ArithmeticException when it overflows. */
    static long expectedSize(Header header) {
        long floats = 0;
        for (long count : tensorElementCounts(header)) {
            floats = Math.addExact(floats, count);
        }
        long headerBytes = header.version() == 0 ? LEGACY_HEADER_BYTES : VERSIONED_HEADER_BYTES;
        return Math.addExact(headerBytes, Math.multiplyExact(floats, 4L));
    }

    private static long[] tensorElementCounts(Header header) {
        long dimension = header.dimension();
        long layers = header.layers();
        long keyValueDimension = (long) header.keyValueHeads() * header.headSize();
        long vocabulary = header.vocabularySize();
        long hidden = header.hiddenDimension();
        long classifier = header.sharedClassifier() ? 0 : Math.multiplyExact(vocabulary, dimension);
        long ropeTables = header.version() == 0 ? Math.multiplyExact((long) header.maxSequenceLength(), header.headSize()) : 0;
        return new long[] {
            Math.multiplyExact(vocabulary, dimension),
            Math.multiplyExact(layers, dimension) * 2 + dimension,
            Math.multiplyExact(Math.multiplyExact(layers, dimension), dimension) * 2,
            Math.multiplyExact(Math.multiplyExact(layers, keyValueDimension), dimension) * 2,
            Math.multiplyExact(Math.multiplyExact(layers, hidden), dimension) * 3,
            ropeTables,
            classifier,
        };
    }

    /** Sequential float32 tensors from a position in the file. */
    private static final class TensorCursor {
        private final MappedFile file;
        private long offset;

        TensorCursor(MappedFile file, long offset) {
            this.file = file;
            this.offset = offset;
        }

        StoredTensor next(String name, long... dimensions) {
            Shape shape = Shape.of(dimensions);
            long bytes = shape.elementCount() * 4;
            StoredTensor tensor = new StoredTensor(name, DType.F32, shape, file.slice(offset, bytes, name));
            offset += bytes;
            return tensor;
        }

        void skip(long floats) {
            offset += floats * 4;
        }
    }

    private static Map<String, TensorView> legacyTensors(MappedFile file, Header header) {
        Map<String, TensorView> tensors = new LinkedHashMap<>();
        TensorCursor cursor = new TensorCursor(file, LEGACY_HEADER_BYTES);
        long dimension = header.dimension();
        tensors.put(TensorNames.EMBEDDING, cursor.next(TensorNames.EMBEDDING, header.vocabularySize(), dimension));
        perLayer(tensors, cursor, header, LayerTensor.ATTENTION_NORM, dimension);
        stackedAttention(tensors, cursor, header);
        perLayer(tensors, cursor, header, LayerTensor.MLP_NORM, dimension);
        stackedFeedForward(tensors, cursor, header);
        tensors.put(TensorNames.FINAL_NORM, cursor.next(TensorNames.FINAL_NORM, dimension));
        cursor.skip(2L * header.maxSequenceLength() * header.headSize() / 2); // unused freq_cis_real and freq_cis_imag
        if (!header.sharedClassifier()) {
            tensors.put(TensorNames.LM_HEAD, cursor.next(TensorNames.LM_HEAD, header.vocabularySize(), dimension));
        }
        return tensors;
    }

    private static Map<String, TensorView> versionOneTensors(MappedFile file, Header header) {
        Map<String, TensorView> tensors = new LinkedHashMap<>();
        TensorCursor cursor = new TensorCursor(file, VERSIONED_HEADER_BYTES);
        long dimension = header.dimension();
        perLayer(tensors, cursor, header, LayerTensor.ATTENTION_NORM, dimension);
        perLayer(tensors, cursor, header, LayerTensor.MLP_NORM, dimension);
        tensors.put(TensorNames.FINAL_NORM, cursor.next(TensorNames.FINAL_NORM, dimension));
        tensors.put(TensorNames.EMBEDDING, cursor.next(TensorNames.EMBEDDING, header.vocabularySize(), dimension));
        stackedAttention(tensors, cursor, header);
        stackedFeedForward(tensors, cursor, header);
        if (!header.sharedClassifier()) {
            tensors.put(TensorNames.LM_HEAD, cursor.next(TensorNames.LM_HEAD, header.vocabularySize(), dimension));
        }
        return tensors;
    }

    private static void stackedAttention(Map<String, TensorView> tensors, TensorCursor cursor, Header header) {
        long dimension = header.dimension();
        long keyValueDimension = (long) header.keyValueHeads() * header.headSize();
        int[] queryRows = RowPermutedTensor.interleavedToRotateHalf(header.heads(), header.headSize());
        int[] keyRows = RowPermutedTensor.interleavedToRotateHalf(header.keyValueHeads(), header.headSize());
        for (int layer = 0; layer < header.layers(); layer++) {
            String name = LayerTensor.QUERY_WEIGHT.name(layer);
            tensors.put(name, new RowPermutedTensor(cursor.next(name, dimension, dimension), queryRows));
        }
        for (int layer = 0; layer < header.layers(); layer++) {
            String name = LayerTensor.KEY_WEIGHT.name(layer);
            tensors.put(name, new RowPermutedTensor(cursor.next(name, keyValueDimension, dimension), keyRows));
        }
        perLayer(tensors, cursor, header, LayerTensor.VALUE_WEIGHT, keyValueDimension, dimension);
        perLayer(tensors, cursor, header, LayerTensor.OUTPUT_WEIGHT, dimension, dimension);
    }

    private static void stackedFeedForward(Map<String, TensorView> tensors, TensorCursor cursor, Header header) {
        long dimension = header.dimension();
        long hidden = header.hiddenDimension();
        perLayer(tensors, cursor, header, LayerTensor.MLP_GATE_WEIGHT, hidden, dimension); // w1
        perLayer(tensors, cursor, header, LayerTensor.MLP_DOWN_WEIGHT, dimension, hidden); // w2
        perLayer(tensors, cursor, header, LayerTensor.MLP_UP_WEIGHT, hidden, dimension); // w3
    }

    private static void perLayer(Map<String, TensorView> tensors, TensorCursor cursor, Header header, LayerTensor kind, long... dimensions) {
        for (int layer = 0; layer < header.layers(); layer++) {
            String name = kind.name(layer);
            tensors.put(name, cursor.next(name, dimensions));
        }
    }
}
