package dev.spikeconv.formats.pytorch;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.io.MappedFile;
import dev.spikeconv.formats.pytorch.PickleValues.StorageReference;
import dev.spikeconv.formats.pytorch.PickleValues.TensorReference;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;

/**
 * A state dict saved by {@code torch.save} (the zip format of torch 1.6 and later): the pickle is read
 * by {@link RestrictedUnpickler}, and every tensor is a slice of its storage entry in the mapped file.
 * Storage entries must be STORED, as torch writes them, so they can be mapped rather than inflated.
 */
public final class PytorchCheckpoint implements AutoCloseable {
    /** torch writes one small pickle; anything far larger is refused before it is inflated. */
    static final long MAX_PICKLE_BYTES = 256L << 20;
    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};
    private static final int PICKLE_PROTOCOL_OPCODE = 0x80;

    private final MappedFile file;
    private final Map<String, StoredTensor> tensors;

    private PytorchCheckpoint(MappedFile file, Map<String, StoredTensor> tensors) {
        this.file = file;
        this.tensors = tensors;
    }

    public static PytorchCheckpoint open(Path path) throws IOException {
        MappedFile file = MappedFile.open(path);
        try {
            checkMagic(file);
            Map<String, ZipArchiveEntry> entries;
            Object root;
            try (ZipFile zip = ZipFile.builder().setPath(path).get()) {
                entries = readEntries(zip, path);
                String prefix = commonPrefix(entries.keySet(), path);
                ZipArchiveEntry pickle = entries.get(prefix + "data.pkl");
                if (pickle == null) {
                    throw InvalidInputException.forFile(path, "archive has no " + prefix + "data.pkl; not a torch.save checkpoint");
                }
                checkByteOrder(zip, entries.get(prefix + "byteorder"), path);
                root = RestrictedUnpickler.load(readEntry(zip, pickle, MAX_PICKLE_BYTES, path), path);
                Map<String, StoredTensor> tensors = tensors(stateDict(root, path), entries, prefix, file);
                return new PytorchCheckpoint(file, Collections.unmodifiableMap(tensors));
            }
            catch (IOException e) {
                // The file was readable (it is mapped), so a failure to parse it is a broken archive.
                throw InvalidInputException.forFile(path, "not a readable zip archive: " + e.getMessage());
            }
        }
        catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public Path path() {
        return file.path();
    }

    /** Tensors by state-dict key, in pickle order. */
    public Map<String, StoredTensor> tensors() {
        return tensors;
    }

    @Override
    public void close() {
        file.close();
    }

    private static void checkMagic(MappedFile file) {
        if (file.size() >= 4 && file.segment().asSlice(0, 4).mismatch(MemorySegment.ofArray(ZIP_MAGIC)) == -1) {
            return;
        }
        if (file.size() >= 1 && (file.segment().get(ValueLayout.JAVA_BYTE, 0) & 0xFF) == PICKLE_PROTOCOL_OPCODE) {
            throw InvalidInputException.forFile(file.path(),
                    "legacy (pre-1.6) torch.save format is not supported; re-save it with torch >= 1.6 or as safetensors");
        }
        throw InvalidInputException.forField(file.path(), "magic", "a zip archive written by torch.save (PK\\3\\4)", "other bytes");
    }

    private static Map<String, ZipArchiveEntry> readEntries(ZipFile zip, Path path) {
        Map<String, ZipArchiveEntry> entries = new LinkedHashMap<>();
        Enumeration<ZipArchiveEntry> all = zip.getEntries();
        while (all.hasMoreElements()) {
            ZipArchiveEntry entry = all.nextElement();
            String name = entry.getName();
            if (name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.contains("\0") || name.matches("^[A-Za-z]:.*")
                    || Arrays.asList(name.split("/", -1)).contains("..")) {
                throw InvalidInputException.forField(path, "entry name", "a relative path inside the archive", "'" + name + "'");
            }
            if (entry.isUnixSymlink()) {
                throw InvalidInputException.forField(path, "entry " + name, "a regular file", "a symbolic link");
            }
            if (entries.put(name, entry) != null) {
                throw InvalidInputException.forField(path, "entry " + name, "a unique name", "a duplicate entry");
            }
        }
        return entries;
    }

    /** torch puts every entry under one folder, e.g. {@code archive/}. */
    private static String commonPrefix(Set<String> names, Path path) {
        String prefix = null;
        for (String name : names) {
            int slash = name.indexOf('/');
            String folder = slash < 0 ? "" : name.substring(0, slash + 1);
            if (folder.isEmpty() || (prefix != null && !prefix.equals(folder))) {
                throw InvalidInputException.forField(path, "entry " + name, "every entry inside one top-level folder", "'" + name + "'");
            }
            prefix = folder;
        }
        if (prefix == null) {
            throw InvalidInputException.forFile(path, "archive is empty");
        }
        return prefix;
    }

    private static void checkByteOrder(ZipFile zip, ZipArchiveEntry entry, Path path) throws IOException {
        if (entry == null) {
            return; // written by torch before 1.10: always little-endian
        }
        String order = new String(readEntry(zip, entry, 16, path), StandardCharsets.US_ASCII).trim();
        if (!order.equals("little")) {
            throw InvalidInputException.forField(path, "byteorder", "little", order);
        }
    }

    /** Reads an entry fully, refusing declared sizes above {@code limit} and content that differs from its declared size. */
    private static byte[] readEntry(ZipFile zip, ZipArchiveEntry entry, long limit, Path path) throws IOException {
        long declared = entry.getSize();
        if (declared < 0 || declared > limit) {
            throw InvalidInputException.forField(path, "entry " + entry.getName() + " size", "at most " + limit + " bytes", declared);
        }
        byte[] content = new byte[(int) declared];
        try (InputStream stream = zip.getInputStream(entry)) {
            int read = stream.readNBytes(content, 0, content.length);
            if (read != declared || stream.read() != -1) {
                throw InvalidInputException.forField(path, "entry " + entry.getName(), declared + " bytes as declared",
                        read < declared ? read + " bytes" : "more bytes");
            }
        }
        return content;
    }

    private static Map<?, ?> stateDict(Object root, Path path) {
        if (root instanceof Map<?, ?> dict) {
            if (!dict.isEmpty() && dict.values().stream().allMatch(TensorReference.class::isInstance)) {
                return dict;
            }
            // Training checkpoints often wrap the weights: {"state_dict": {...}} or {"model": {...}}.
            for (String key : new String[] {"state_dict", "model", "module"}) {
                if (dict.get(key) instanceof Map<?, ?> inner && !inner.isEmpty()
                        && inner.values().stream().allMatch(TensorReference.class::isInstance)) {
                    return inner;
                }
            }
        }
        throw InvalidInputException.forField(path, "data.pkl", "a state dict mapping names to tensors", "something else");
    }

    private static Map<String, StoredTensor> tensors(Map<?, ?> stateDict, Map<String, ZipArchiveEntry> entries, String prefix, MappedFile file) {
        Path path = file.path();
        Map<String, StoredTensor> tensors = new LinkedHashMap<>();
        Map<String, StorageReference> storages = new HashMap<>();
        Set<String> names = new HashSet<>();
        for (Map.Entry<?, ?> item : stateDict.entrySet()) {
            if (!(item.getKey() instanceof String name) || !names.add(name)) {
                throw InvalidInputException.forField(path, "data.pkl", "unique string keys", item.getKey());
            }
            TensorReference tensor = (TensorReference) item.getValue();
            StorageReference storage = tensor.storage();
            StorageReference known = storages.putIfAbsent(storage.key(), storage);
            if (known != null && !known.equals(storage)) {
                throw InvalidInputException.forField(path, "storage " + storage.key(), "one type and size", "two different declarations");
            }
            ZipArchiveEntry entry = entries.get(prefix + "data/" + storage.key());
            if (entry == null) {
                throw InvalidInputException.forFile(path, "tensor " + name + " refers to storage " + storage.key() + ", which the archive lacks");
            }
            if (entry.getMethod() != ZipEntry.STORED || entry.getSize() != entry.getCompressedSize()) {
                throw InvalidInputException.forField(path, "entry " + entry.getName(), "STORED (uncompressed), as torch.save writes", "compression method " + entry.getMethod());
            }
            int elementSize = storage.dtype().elementSize();
            long storageBytes;
            long elementCount;
            long end;
            try {
                storageBytes = Math.multiplyExact(storage.elementCount(), (long) elementSize);
                elementCount = Shape.of(tensor.size()).elementCount();
                end = Math.addExact(tensor.storageOffset(), elementCount);
            }
            catch (ArithmeticException e) {
                throw InvalidInputException.forField(path, "tensor " + name, "sizes below 2^63 bytes", "an overflowing size");
            }
            if (entry.getSize() < storageBytes) {
                throw InvalidInputException.forField(path, "entry " + entry.getName(), storageBytes + " bytes for the storage", entry.getSize() + " bytes");
            }
            if (end > storage.elementCount()) {
                throw InvalidInputException.forField(path, "tensor " + name, "elements within its storage of " + storage.elementCount(),
                        "elements [" + tensor.storageOffset() + ", " + end + ")");
            }
            checkContiguous(name, tensor, path);
            long dataOffset = entry.getDataOffset();
            tensors.put(name, new StoredTensor(name, storage.dtype(), Shape.of(tensor.size()),
                    file.slice(dataOffset + tensor.storageOffset() * elementSize, elementCount * elementSize, "tensor " + name)));
        }
        return tensors;
    }

    private static void checkContiguous(String name, TensorReference tensor, Path path) {
        long expected = 1;
        long[] size = tensor.size();
        long[] stride = tensor.stride();
        for (int i = size.length - 1; i >= 0; i--) {
            if (size[i] != 1 && stride[i] != expected) {
                throw InvalidInputException.forField(path, "tensor " + name + " stride", "row-major contiguous strides",
                        Arrays.toString(stride) + " for size " + Arrays.toString(size));
            }
            expected *= size[i];
        }
    }
}
