package dev.spikeconv.converter.bundle;

import dev.spikeconv.formats.io.InvalidInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;

/**
 * A source file's size and modification time when a conversion started: checked again after the
 * source was hashed, so a file rewritten during a conversion is refused instead of giving a bundle
 * whose recorded hash matches neither version.
 */
record SourceStamp(Path file, long size, FileTime modified) {
    static List<SourceStamp> of(List<Path> files) throws IOException {
        List<SourceStamp> stamps = new ArrayList<>();
        for (Path file : files) {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            stamps.add(new SourceStamp(file, attributes.size(), attributes.lastModifiedTime()));
        }
        return stamps;
    }

    static void checkUnchanged(List<SourceStamp> stamps) throws IOException {
        for (SourceStamp stamp : stamps) {
            BasicFileAttributes now = Files.readAttributes(stamp.file(), BasicFileAttributes.class);
            if (now.size() != stamp.size() || !now.lastModifiedTime().equals(stamp.modified())) {
                throw InvalidInputException.forFile(stamp.file(), "changed while it was being converted (size " + stamp.size() + " -> " + now.size()
                        + ", modified " + stamp.modified() + " -> " + now.lastModifiedTime() + "); convert again from a file nothing writes to");
            }
        }
    }
}
