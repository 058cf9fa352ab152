package dev.spikeconv.formats.safetensors;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.io.LittleEndianReader;
import dev.spikeconv.formats.io.MappedFile;
import dev.spikeconv.formats.tensor.FileRegion;
import dev.spikeconv.formats.tensor.StoredTensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One mapped safetensors file: {@code u64 header length, JSON header, data}. Tensors are slices of
 * the mapping, in header order.
 */
public final class SafetensorsFile implements AutoCloseable {
    private final MappedFile file;
    private final SafetensorsHeader header;
    private final Map<String, StoredTensor> tensors;

    private SafetensorsFile(MappedFile file, SafetensorsHeader header, Map<String, StoredTensor> tensors) {
        this.file = file;
        this.header = header;
        this.tensors = tensors;
    }

    public static SafetensorsFile open(Path path) throws IOException {
        MappedFile file = MappedFile.open(path);
        try {
            LittleEndianReader reader = file.reader();
            long headerLength = reader.readUint64("header length");
            if (headerLength > SafetensorsHeader.MAX_HEADER_BYTES || headerLength > reader.remaining()) {
                throw InvalidInputException.forField(path, "header length",
                        "at most " + Math.min(SafetensorsHeader.MAX_HEADER_BYTES, reader.remaining()) + " bytes", headerLength);
            }
            byte[] json = reader.readBytes(headerLength, "header");
            long dataStart = reader.position();
            SafetensorsHeader header = SafetensorsHeader.parse(json, file.size() - dataStart, path);
            Map<String, StoredTensor> tensors = new LinkedHashMap<>();
            for (SafetensorsHeader.Entry entry : header.entries()) {
                tensors.put(entry.name(), new StoredTensor(entry.name(), entry.dtype(), entry.shape(),
                        file.slice(dataStart + entry.begin(), entry.byteSize(), entry.name()), new FileRegion(path, dataStart + entry.begin())));
            }
            return new SafetensorsFile(file, header, Collections.unmodifiableMap(tensors));
        }
        catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public Path path() {
        return file.path();
    }

    public SafetensorsHeader header() {
        return header;
    }

    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Tensors by name, in header order. */
    public Map<String, StoredTensor> tensors() {
        return tensors;
    }

    @Override
    public void close() {
        file.close();
    }
}
