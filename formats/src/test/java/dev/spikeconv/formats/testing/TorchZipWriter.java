package dev.spikeconv.formats.testing;

import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;

/**
 * Writes a state dict the way {@code torch.save} does (zip format, pickle protocol 2, one STORED
 * entry per storage aligned to 64 bytes). Tensors may share a storage, as tied weights do.
 */
public final class TorchZipWriter {
    private static final Map<DType, String> STORAGE_CLASSES = Map.of(
            DType.F64, "DoubleStorage", DType.F32, "FloatStorage", DType.F16, "HalfStorage", DType.BF16, "BFloat16Storage",
            DType.I64, "LongStorage", DType.I32, "IntStorage", DType.I16, "ShortStorage", DType.I8, "CharStorage",
            DType.U8, "ByteStorage", DType.BOOL, "BoolStorage");

    /** A tensor viewing {@code storageKey} from element {@code storageOffset}, contiguous. */
    public record Tensor(String name, DType dtype, Shape shape, String storageKey, long storageOffset) {}

    private final List<Tensor> tensors = new ArrayList<>();
    private final Map<String, byte[]> storages = new LinkedHashMap<>();
    private final Map<String, DType> storageTypes = new LinkedHashMap<>();

    /** Adds a tensor with a storage of its own. */
    public TorchZipWriter add(String name, DType dtype, Shape shape, byte[] littleEndianData) {
        String key = String.valueOf(storages.size());
        addStorage(key, dtype, littleEndianData);
        return addView(new Tensor(name, dtype, shape, key, 0));
    }

    public TorchZipWriter addStorage(String key, DType dtype, byte[] littleEndianData) {
        storages.put(key, littleEndianData);
        storageTypes.put(key, dtype);
        return this;
    }

    public TorchZipWriter addView(Tensor tensor) {
        tensors.add(tensor);
        return this;
    }

    public byte[] pickle() {
        PickleWriter pickle = new PickleWriter().protocol()
                .global("collections", "OrderedDict").emptyTuple().reduce()
                .mark();
        for (Tensor tensor : tensors) {
            DType type = storageTypes.get(tensor.storageKey());
            long storageElements = storages.get(tensor.storageKey()).length / type.elementSize();
            pickle.string(tensor.name())
                    .global("torch._utils", "_rebuild_tensor_v2")
                    .mark()
                    .mark().string("storage").global("torch", STORAGE_CLASSES.get(type)).string(tensor.storageKey()).string("cpu")
                    .integer(storageElements).tupleFromMark()
                    .persistentId()
                    .integer(tensor.storageOffset());
            long[] dimensions = tensor.shape().dimensions();
            pickle.mark();
            for (long dimension : dimensions) {
                pickle.integer(dimension);
            }
            pickle.tupleFromMark().mark();
            long stride = 1;
            long[] strides = new long[dimensions.length];
            for (int i = dimensions.length - 1; i >= 0; i--) {
                strides[i] = stride;
                stride *= dimensions[i];
            }
            for (long value : strides) {
                pickle.integer(value);
            }
            pickle.tupleFromMark()
                    .bool(false)
                    .global("collections", "OrderedDict").emptyTuple().reduce()
                    .tupleFromMark()
                    .reduce();
        }
        return pickle.setItems().stop().toByteArray();
    }

    public void write(Path path) throws IOException {
        write(path, "archive", pickle());
    }

    /** Writes an archive with the given pickle under folder {@code prefix}; tests of hostile files pass their own. */
    public void write(Path path, String prefix, byte[] pickle) throws IOException {
        try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(path)) {
            stored(zip, prefix + "/data.pkl", pickle);
            stored(zip, prefix + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
            for (Map.Entry<String, byte[]> storage : storages.entrySet()) {
                stored(zip, prefix + "/data/" + storage.getKey(), storage.getValue());
            }
            stored(zip, prefix + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    static void stored(ZipArchiveOutputStream zip, String name, byte[] content) throws IOException {
        ZipArchiveEntry entry = new ZipArchiveEntry(name);
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(content.length);
        CRC32 crc = new CRC32();
        crc.update(content);
        entry.setCrc(crc.getValue());
        entry.setAlignment(64);
        zip.putArchiveEntry(entry);
        zip.write(content);
        zip.closeArchiveEntry();
    }
}
