package dev.spikeconv.formats.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removing a folder spikeconv made (staging, temporary graphs, generated models) with everything in it. */
public final class FileTrees {
    private FileTrees() {}

    /** Deletes {@code root} and what it holds, contents first; symbolic links are removed, never followed. Nothing happens when it does not exist. */
    public static void delete(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    /** The same, ignoring failures: for temporary folders whose removal is best effort (they are hidden or in the temporary folder). */
    public static void deleteQuietly(Path root) {
        try {
            delete(root);
        }
        catch (IOException | RuntimeException ignored) {
            // best effort
        }
    }
}
