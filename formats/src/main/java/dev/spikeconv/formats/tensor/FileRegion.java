package dev.spikeconv.formats.tensor;

import java.nio.file.Path;
import java.util.Objects;

/** Where a tensor's bytes lie, unchanged, in a file: the file and the offset of the first byte. */
public record FileRegion(Path file, long offset) {
    public FileRegion {
        Objects.requireNonNull(file);
        if (offset < 0) {
            throw new IllegalArgumentException("offset " + offset);
        }
    }
}
