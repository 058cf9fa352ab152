package dev.spikeconv.converter.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.formats.hf.HfCheckpointLoader;
import dev.spikeconv.formats.io.FileHashes;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The SHA-256 of every file of a bundle but {@code config.json} itself, recorded in its config as
 * {@code spikeconv.files} when the bundle is written, so that a bundle proves its own integrity: verify fails its
 * structure goal on a file that differs, and run and generate refuse it.
 */
public final class BundleFileHashes {
    public static final String FIELD = "files";

    private BundleFileHashes() {}

    /** Every regular file under {@code bundle} except config.json and hidden files, by path relative to it, with its SHA-256. */
    public static Map<String, String> of(Path bundle) throws IOException {
        Map<String, String> hashes = new TreeMap<>();
        for (Path file : files(bundle)) {
            hashes.put(name(bundle, file), FileHashes.sha256(file));
        }
        return hashes;
    }

    /**
     * Hashes the bundle's files and writes them into its config.json: the last step of every write (on the staged
     * bundle), and what a tool that edits a bundle on purpose must do afterwards.
     */
    public static void record(Path staged) throws IOException {
        Path configFile = staged.resolve(HfCheckpointLoader.CONFIG);
        ObjectNode config = (ObjectNode) JsonDocuments.read(configFile, 1 << 24);
        ObjectNode spikeconv = (ObjectNode) config.path("spikeconv");
        ObjectNode files = spikeconv.putObject(FIELD);
        of(staged).forEach(files::put);
        Files.writeString(configFile, JsonDocuments.writer().writeValueAsString(config));
    }

    /** The hashes {@code bundle}'s config records, by relative path; empty when it records none (a bundle of an older spikeconv). */
    public static Map<String, String> recorded(Path bundle) throws IOException {
        JsonNode files = JsonDocuments.read(bundle.resolve(HfCheckpointLoader.CONFIG), 1 << 24).path("spikeconv").path(FIELD);
        Map<String, String> recorded = new TreeMap<>();
        files.properties().forEach(entry -> recorded.put(entry.getKey(), entry.getValue().asText()));
        return recorded;
    }

    /**
     * One short line per recorded file that is missing or whose bytes differ from the recorded hash (files the bundle
     * did not record, such as notes a user added, are not its business). Hashes each recorded file.
     */
    public static List<String> mismatches(Path bundle) throws IOException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> entry : recorded(bundle).entrySet()) {
            Path file = bundle.resolve(entry.getKey()).normalize();
            if (!file.startsWith(bundle.normalize()) || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                problems.add(entry.getKey() + ": missing (config.json records it)");
            }
            else if (!FileHashes.sha256(file).equals(entry.getValue())) {
                problems.add(entry.getKey() + ": SHA-256 differs from the one config.json records (the file changed after spikeconv wrote it)");
            }
        }
        return problems;
    }

    /** Refuses a bundle whose files do not match their recorded hashes (exit 65), naming the first file. */
    public static void check(Path bundle) throws IOException {
        List<String> problems = mismatches(bundle);
        if (!problems.isEmpty()) {
            throw InvalidInputException.forFile(bundle, problems.getFirst() + (problems.size() > 1 ? " (and " + (problems.size() - 1) + " more)" : ""));
        }
    }

    /**
     * {@link #check}, skipping files already found intact: {@code cacheFile} remembers each checked file's size,
     * modification time and hash, so a bundle is hashed once per state, not on every run. Without a usable cache
     * (null, or not writable) every file is hashed.
     */
    public static void checkOnce(Path bundle, Path cacheFile) throws IOException {
        Path root = bundle.toAbsolutePath().normalize();
        Map<String, String> recorded = recorded(root);
        ObjectNode cache = readCache(cacheFile);
        boolean changed = false;
        for (Map.Entry<String, String> entry : recorded.entrySet()) {
            Path file = root.resolve(entry.getKey()).normalize();
            if (!file.startsWith(root) || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                throw InvalidInputException.forFile(root, entry.getKey() + ": missing (config.json records it)");
            }
            String stamp = Files.size(file) + ":" + Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).toInstant() + ":" + entry.getValue();
            if (stamp.equals(cache.path(file.toString()).asText(null))) {
                continue;
            }
            if (!FileHashes.sha256(file).equals(entry.getValue())) {
                throw InvalidInputException.forFile(root, entry.getKey() + ": SHA-256 differs from the one config.json records "
                        + "(the file changed after spikeconv wrote it)");
            }
            cache.put(file.toString(), stamp);
            changed = true;
        }
        if (changed && cacheFile != null) {
            writeCache(cacheFile, cache);
        }
    }

    private static ObjectNode readCache(Path cacheFile) {
        if (cacheFile != null && Files.isRegularFile(cacheFile)) {
            try {
                if (JsonDocuments.read(cacheFile, 1 << 24) instanceof ObjectNode cache) {
                    return cache;
                }
            }
            catch (IOException | RuntimeException e) {
                // an unreadable cache only costs a hash
            }
        }
        return JsonDocuments.writer().createObjectNode();
    }

    private static void writeCache(Path cacheFile, ObjectNode cache) {
        try {
            Files.createDirectories(cacheFile.toAbsolutePath().getParent());
            Path temporary = cacheFile.resolveSibling("." + cacheFile.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
            Files.writeString(temporary, JsonDocuments.writer().writeValueAsString(cache));
            Files.move(temporary, cacheFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        catch (IOException | RuntimeException e) {
            // not writable: the next run hashes again
        }
    }

    private static List<Path> files(Path bundle) throws IOException {
        try (Stream<Path> paths = Files.walk(bundle)) {
            return paths.filter(path -> Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS))
                    .filter(path -> !path.getFileName().toString().startsWith("."))
                    .filter(path -> !bundle.relativize(path).toString().equals(HfCheckpointLoader.CONFIG))
                    .sorted().toList();
        }
    }

    private static String name(Path bundle, Path file) {
        return bundle.relativize(file).toString().replace('\\', '/');
    }
}
