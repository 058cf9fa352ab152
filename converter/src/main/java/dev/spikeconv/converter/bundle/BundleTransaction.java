package dev.spikeconv.converter.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.hardware.KernelManifest;
import dev.spikeconv.converter.hardware.ManifestOptions;
import dev.spikeconv.converter.hardware.TargetProfile;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.hf.HfCheckpointLoader;
import dev.spikeconv.formats.hf.SpikingBrainNames;
import dev.spikeconv.formats.io.FileHashes;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.WritableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * One atomic rewrite of an existing bundle. Edits are collected first (tensors put or removed, the config edited, files
 * added); {@link #commit} then stages the whole bundle once (safetensors and index, config, the files it keeps, the ONNX
 * graph, the W8ASpike layout, files derived from the staged tensors, the manifests) and swaps it in with one rename.
 * The bundle is locked from {@link #begin} to {@link #close}; a transaction closed without a commit leaves it as it was.
 */
public final class BundleTransaction implements AutoCloseable {
    private static final Set<String> REBUILT_FILES = Set.of(HfCheckpointLoader.CONFIG, BundleWriter.INDEX, DecoderGraphWriter.MODEL_FILE,
            DecoderGraphWriter.DATA_FILE);

    /** A file whose content depends on the staged bundle (e.g. calibration.json, bound to the digest of its tensors). */
    @FunctionalInterface
    public interface DerivedFile {
        byte[] content(Path stagedBundle) throws IOException;
    }

    private final Path bundle;
    private final Closeable lock;
    private final Map<String, TensorView> tensors = new LinkedHashMap<>();
    private final Map<String, DerivedFile> files = new LinkedHashMap<>();
    private Predicate<String> removed = name -> false;
    private UnaryOperator<ObjectNode> configEdit = UnaryOperator.identity();
    private boolean committed;

    private BundleTransaction(Path bundle, Closeable lock) {
        this.bundle = bundle;
        this.lock = lock;
    }

    /**
     * Locks {@code bundle} against other spikeconv writers (taking over what killed runs left, with a line to
     * {@code notes}) and starts collecting edits.
     */
    public static BundleTransaction begin(Path bundle, Consumer<String> notes) throws IOException {
        Path absolute = bundle.toAbsolutePath().normalize();
        return new BundleTransaction(absolute, BundleFolders.lock(absolute, notes));
    }

    public Path bundle() {
        return bundle;
    }

    /**
     * Stores {@code stored} under the canonical {@code name}: in place of an existing tensor (same shape and storage:
     * int8 codes and scales for an int8 weight, the same float type otherwise), or as a new tensor after its module's weight.
     */
    public void put(String name, TensorView stored) {
        if (committed) {
            throw new IllegalStateException("the transaction is committed");
        }
        tensors.put(name, stored);
    }

    /** Drops the existing tensors whose canonical names match (tensors {@link #put} in this transaction stay). */
    public void removeWhere(Predicate<String> names) {
        removed = removed.or(names);
    }

    /** Edits config.json, after the edits given before. */
    public void editConfig(UnaryOperator<ObjectNode> edit) {
        UnaryOperator<ObjectNode> before = configEdit;
        configEdit = config -> edit.apply(before.apply(config));
    }

    /** Writes {@code name} into the bundle, its content made once the tensors are staged. */
    public void addFile(String name, DerivedFile content) {
        files.put(name, content);
    }

    /**
     * Writes one file into the bundle now, whole or not at all (a temporary sibling renamed over it), under the
     * transaction's lock: for a file nothing else in the bundle depends on, such as a manifest, which does not need
     * the bundle staged again.
     */
    public void replaceFile(String name, byte[] content) throws IOException {
        if (committed) {
            throw new IllegalStateException("the transaction is committed");
        }
        writeAtomically(bundle.resolve(name), content);
        // The config records every file's hash: it follows, so that the bundle still proves its integrity.
        Path configFile = bundle.resolve(HfCheckpointLoader.CONFIG);
        ObjectNode config = (ObjectNode) JsonDocuments.read(configFile, 1 << 24);
        if (config.path("spikeconv").path(BundleFileHashes.FIELD).isObject()) {
            ((ObjectNode) config.path("spikeconv").path(BundleFileHashes.FIELD)).put(name, FileHashes.sha256(bundle.resolve(name)));
            writeAtomically(configFile, JsonDocuments.writer().writeValueAsString(config).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    private static void writeAtomically(Path file, byte[] content) throws IOException {
        Path temporary = file.resolveSibling("." + file.getFileName() + ".tmp");
        try {
            Files.write(temporary, content);
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** Stages the edited bundle and puts it in place of the old one; on any failure the bundle is left as it was. */
    public void commit(ConversionProgress progress) throws IOException {
        if (committed) {
            throw new IllegalStateException("the transaction is committed");
        }
        Path staging = BundleFolders.createStaging(bundle);
        try {
            write(staging, progress);
            BundleFolders.replace(staging, bundle);
            committed = true;
        }
        catch (InvalidInputException e) {
            BundleFolders.deleteQuietly(staging);
            // The staging folder means nothing to the user: name the bundle.
            throw new InvalidInputException(e.getMessage().replace(staging.toString(), bundle.toString()), e);
        }
        catch (IOException | RuntimeException | Error e) {
            BundleFolders.deleteQuietly(staging);
            throw e;
        }
    }

    /** Releases the lock. */
    @Override
    public void close() throws IOException {
        lock.close();
    }

    private void write(Path output, ConversionProgress progress) throws IOException {
        ObjectNode config = (ObjectNode) JsonDocuments.read(bundle.resolve(HfCheckpointLoader.CONFIG), 1 << 24);
        ObjectNode edited = configEdit.apply(config.deepCopy());
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            Map<String, String> weightMap = rewriteSafetensors(output, model, progress);
            if (weightMap != null) {
                ObjectNode index = JsonDocuments.writer().createObjectNode();
                long total = 0;
                for (String file : new TreeSet<>(weightMap.values())) {
                    total += Files.size(output.resolve(file));
                }
                index.putObject("metadata").put("total_size", total);
                ObjectNode map = index.putObject("weight_map");
                weightMap.forEach(map::put);
                Files.writeString(output.resolve(BundleWriter.INDEX), JsonDocuments.writer().writeValueAsString(index));
            }
        }
        Files.writeString(output.resolve(HfCheckpointLoader.CONFIG), JsonDocuments.writer().writeValueAsString(edited));
        copyKeptFiles(output);
        progress.stage("writing the ONNX graph");
        try (ModelDescription updated = CheckpointLoader.open(output)) {
            DecoderGraphWriter.write(updated, output);
            if (Files.isDirectory(bundle.resolve(W8ASpikeLayout.FOLDER))) {
                progress.stage("writing the W8ASpike layout");
                W8ASpikeLayout.write(updated, output.resolve(W8ASpikeLayout.FOLDER));
            }
        }
        for (Map.Entry<String, DerivedFile> file : files.entrySet()) {
            Files.write(output.resolve(file.getKey()), file.getValue().content(output));
        }
        rewriteManifests(output, progress);
        progress.stage("hashing the bundle's files");
        BundleFileHashes.record(output);
    }

    /** Rewrites every safetensors file of the bundle; returns the new weight map of a sharded bundle, or null. */
    private Map<String, String> rewriteSafetensors(Path output, ModelDescription model, ConversionProgress progress) throws IOException {
        List<String> shards = new ArrayList<>();
        Path index = bundle.resolve(BundleWriter.INDEX);
        if (Files.isRegularFile(index)) {
            JsonNode weightMap = JsonDocuments.read(index, 1 << 26).path("weight_map");
            weightMap.properties().forEach(entry -> {
                if (!shards.contains(entry.getValue().asText())) {
                    shards.add(entry.getValue().asText());
                }
            });
        }
        else {
            shards.add(BundleWriter.SAFETENSORS);
        }
        // Tensors the files hold but the model does not describe (a previous calibration's thresholds) are replaced where they lie.
        Set<String> stored = new HashSet<>();
        for (String shard : shards) {
            try (SafetensorsFile safetensors = SafetensorsFile.open(bundle.resolve(shard))) {
                safetensors.tensors().keySet().forEach(name -> stored.add(SpikingBrainNames.toCanonical(name).orElse(name)));
            }
        }
        Map<String, TensorView> pending = new LinkedHashMap<>();
        tensors.forEach((name, tensor) -> {
            TensorView existing = model.tensors().get(name);
            if (existing != null) {
                checkReplaceable(name, existing, tensor);
            }
            else if (!stored.contains(name)) {
                pending.put(name, tensor);
            }
        });
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int i = 0; i < shards.size(); i++) {
            String shard = shards.get(i);
            progress.stage("writing " + shard);
            try (SafetensorsFile safetensors = SafetensorsFile.open(bundle.resolve(shard))) {
                List<Planned> planned = plan(safetensors, pending, i == shards.size() - 1);
                Map<String, Planned> byName = new LinkedHashMap<>();
                planned.forEach(entry -> byName.put(entry.entry().name(), entry));
                SafetensorsWriter.write(output.resolve(shard), planned.stream().map(Planned::entry).toList(), safetensors.metadata(),
                        (entry, channel) -> byName.get(entry.name()).content().write(channel));
                planned.forEach(entry -> weightMap.put(entry.entry().name(), shard));
            }
        }
        return shards.size() > 1 ? weightMap : null;
    }

    private static void checkReplaceable(String name, TensorView existing, TensorView replacement) {
        boolean sameStorage = existing instanceof ScaledInt8Tensor
                ? replacement instanceof ScaledInt8Tensor
                : replacement instanceof StoredTensor && replacement.dtype() == existing.dtype();
        if (!sameStorage || !replacement.shape().equals(existing.shape())) {
            throw new IllegalArgumentException(name + " is stored as " + existing.dtype() + " " + existing.shape() + ", its replacement is "
                    + replacement.dtype() + " " + replacement.shape());
        }
    }

    private record Planned(SafetensorsWriter.TensorEntry entry, Content content) {}

    @FunctionalInterface
    private interface Content {
        void write(WritableByteChannel channel) throws IOException;
    }

    /** The tensors of one file in their order, each new tensor right after its module's weight (and scale); leftovers last in the last file. */
    private List<Planned> plan(SafetensorsFile file, Map<String, TensorView> pending, boolean last) {
        List<Planned> planned = new ArrayList<>();
        Map<String, StoredTensor> stored = file.tensors();
        for (StoredTensor tensor : stored.values()) {
            String name = tensor.name();
            String canonical = SpikingBrainNames.toCanonical(name).orElse(name);
            boolean scale = name.endsWith(SpikingBrainNames.SCALE_SUFFIX)
                    && stored.containsKey(name.substring(0, name.length() - SpikingBrainNames.SCALE_SUFFIX.length()));
            if (scale || (removed.test(canonical) && !tensors.containsKey(canonical))) {
                continue;
            }
            TensorView replacement = tensors.get(canonical);
            if (replacement != null) {
                planned.addAll(entries(name, replacement));
            }
            else {
                planned.add(entry(name, tensor));
                StoredTensor scaleTensor = stored.get(name + SpikingBrainNames.SCALE_SUFFIX);
                if (scaleTensor != null) {
                    planned.add(entry(scaleTensor.name(), scaleTensor));
                }
            }
            if (canonical.endsWith(".weight")) {
                String module = canonical.substring(0, canonical.length() - ".weight".length());
                for (Iterator<Map.Entry<String, TensorView>> it = pending.entrySet().iterator(); it.hasNext();) {
                    Map.Entry<String, TensorView> added = it.next();
                    if (added.getKey().startsWith(module + ".")) {
                        planned.addAll(entries(SpikingBrainNames.fromCanonical(added.getKey()), added.getValue()));
                        it.remove();
                    }
                }
            }
        }
        if (last) {
            pending.forEach((name, tensor) -> planned.addAll(entries(SpikingBrainNames.fromCanonical(name), tensor)));
            pending.clear();
        }
        return planned;
    }

    /** The stored entries of a tensor: its codes and scales when int8, its bytes otherwise. */
    private static List<Planned> entries(String name, TensorView tensor) {
        return switch (tensor) {
            case ScaledInt8Tensor int8 -> List.of(entry(name, int8.codes()), entry(name + SpikingBrainNames.SCALE_SUFFIX, int8.scales()));
            case StoredTensor stored -> List.of(entry(name, stored));
            default -> throw new IllegalArgumentException(name + ": only stored tensors are written as they are, not " + tensor.getClass().getSimpleName());
        };
    }

    private static Planned entry(String name, StoredTensor tensor) {
        return new Planned(new SafetensorsWriter.TensorEntry(name, tensor.dtype(), tensor.shape()), channel -> SafetensorsWriter.writeFully(channel,
                tensor.data()));
    }

    /** Copies the files the transaction does not rebuild (tokenizer, ...); manifests are rewritten afterwards. */
    private void copyKeptFiles(Path output) throws IOException {
        List<Path> sorted = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(bundle)) {
            entries.forEach(sorted::add);
        }
        sorted.sort(null);
        for (Path entry : sorted) {
            String name = entry.getFileName().toString();
            if (!Files.isRegularFile(entry) || name.startsWith(".") || REBUILT_FILES.contains(name) || name.endsWith(".safetensors")
                    || files.containsKey(name)) {
                continue;
            }
            Files.copy(entry, output.resolve(name));
        }
    }

    /**
     * Writes every {@code manifest.<target>.json} of the staged bundle again from its tensors (same batch and context).
     * A manifest made from a user's target file cannot be, and is left out with a warning.
     */
    private static void rewriteManifests(Path output, ConversionProgress progress) throws IOException {
        List<Path> manifests = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(output, "manifest.*.json")) {
            entries.forEach(manifests::add);
        }
        if (manifests.isEmpty()) {
            return;
        }
        manifests.sort(null);
        try (ModelDescription model = CheckpointLoader.open(output)) {
            for (Path manifest : manifests) {
                JsonNode old = JsonDocuments.read(manifest, 1 << 26);
                String id = old.path("target").path("id").asText();
                if (!TargetProfiles.shippedIds().contains(id)) {
                    Files.delete(manifest);
                    progress.warning(manifest.getFileName() + " was made from a target file, which the bundle does not keep; it is left out: "
                            + "write it again with spikeconv manifest");
                    continue;
                }
                TargetProfile profile = TargetProfiles.shipped(id);
                JsonNode memory = old.path("memory");
                ManifestOptions options = new ManifestOptions(memory.path("batch").asInt(ManifestOptions.DEFAULT.batch()),
                        memory.path("context").asInt(ManifestOptions.DEFAULT.context()));
                progress.stage("writing the " + id + " manifest");
                KernelManifest.write(model, output, profile, options);
            }
        }
    }
}
