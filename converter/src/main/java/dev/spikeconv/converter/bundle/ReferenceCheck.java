package dev.spikeconv.converter.bundle;

import dev.spikeconv.formats.hf.HfCheckpointLoader;
import dev.spikeconv.formats.io.FileHashes;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Whether a dense checkpoint given as the reference of a bundle (verify's comparison, calibrate's attention transfer)
 * is the one the bundle was converted from: one of its files must have a SHA-256 the bundle's config records. Comparing
 * with another model gives numbers about that model, so it is refused unless the user allows it.
 */
public final class ReferenceCheck {
    private ReferenceCheck() {}

    /**
     * Hashes the reference's files and returns them by file name; refuses a reference none of whose files the bundle
     * records (exit 65), or, when {@code allowOther}, warns through {@code warning} and goes on.
     */
    public static Map<String, String> check(Path bundle, Path referencePath, ModelDescription reference, boolean allowOther, Consumer<String> warning)
            throws IOException {
        Map<String, String> hashes = new LinkedHashMap<>();
        for (Path file : reference.files()) {
            hashes.put(file.getFileName().toString(), FileHashes.sha256(file));
        }
        Set<String> recorded = new TreeSet<>();
        JsonDocuments.read(bundle.resolve(HfCheckpointLoader.CONFIG), 1 << 24).path("spikeconv").path("source").path("files").valueStream()
                .forEach(node -> recorded.add(node.asText()));
        boolean known = hashes.values().stream().anyMatch(recorded::contains);
        if (!known) {
            String problem = "is not the checkpoint " + bundle.getFileName() + " was converted from: none of its files has a SHA-256 the bundle's config records";
            if (!allowOther) {
                throw InvalidInputException.forFile(referencePath, problem + " (name the bundle's source, or allow another reference explicitly)");
            }
            warning.accept(referencePath + " " + problem + "; compared with it all the same, as asked");
        }
        return hashes;
    }
}
