package dev.spikeconv.converter.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.quantization.Int8Quantizer;
import dev.spikeconv.converter.hardware.KernelManifest;
import dev.spikeconv.converter.hardware.ManifestOptions;
import dev.spikeconv.converter.hardware.TargetProfile;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.hf.HfCheckpointLoader;
import dev.spikeconv.formats.hf.SpikingBrainNames;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.FloatEncodings;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * Rewrites an existing bundle in place, atomically: some tensors replaced (quantized again when the
 * bundle stores them as int8), small tensors added or removed, the config edited, files added; the
 * ONNX graph, manifests and W8ASpike layout are written again from the result. Everything else is
 * copied byte for byte. Calibration uses it to store thresholds and fitted attention parameters.
 */
public final class BundleUpdate {
    private static final long COPY_CHUNK = 1 << 24;
    private static final Set<String> REBUILT_FILES = Set.of(HfCheckpointLoader.CONFIG, BundleWriter.INDEX, DecoderGraphWriter.MODEL_FILE,
            DecoderGraphWriter.DATA_FILE);

    /** A small tensor to add (thresholds, biases): dtype, shape and little-endian bytes. */
    public record NewTensor(DType dtype, Shape shape, byte[] bytes) {
        public NewTensor {
            bytes = bytes.clone();
            if (bytes.length != shape.elementCount() * dtype.elementSize()) {
                throw new IllegalArgumentException("a " + dtype + " tensor of shape " + shape + " needs " + shape.elementCount() * dtype.elementSize()
                        + " bytes, got " + bytes.length);
            }
        }

        public static NewTensor ofInts(Shape shape, int... values) {
            ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            buffer.asIntBuffer().put(values);
            return new NewTensor(DType.I32, shape, buffer.array());
        }

        public static NewTensor ofFloats(Shape shape, float... values) {
            ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            buffer.asFloatBuffer().put(values);
            return new NewTensor(DType.F32, shape, buffer.array());
        }

        @Override
        public byte[] bytes() {
            return bytes.clone();
        }
    }

    /**
     * What to change, all by canonical tensor name. {@code replaced}: new values of existing tensors;
     * {@code added}: new or overwritten small tensors, placed after their module's weight;
     * {@code removed}: existing tensors to drop; {@code config}: an edit of config.json;
     * {@code files}: files to write into the bundle (e.g. {@code calibration.json}).
     */
    public record Edit(Map<String, float[]> replaced, Map<String, NewTensor> added, Predicate<String> removed, UnaryOperator<ObjectNode> config,
            Map<String, byte[]> files) {
        public Edit {
            replaced = Map.copyOf(replaced);
            added = new LinkedHashMap<>(added);
            files = new LinkedHashMap<>(files);
        }
    }

    private BundleUpdate() {}

    /** Applies {@code edit} to the bundle at {@code bundle}; on any failure the bundle is left as it was. */
    public static void apply(Path bundle, Edit edit, ConversionProgress progress) throws IOException {
        Closeable lock = lock(bundle);
        try (lock) {
            applyLocked(bundle, edit, progress);
        }
    }

    /** Keeps other spikeconv processes from writing {@code bundle} until closed; staging folders of killed runs are removed. */
    public static Closeable lock(Path bundle) throws IOException {
        return BundleFolders.lock(bundle.toAbsolutePath().normalize());
    }

    private static void applyLocked(Path bundle, Edit edit, ConversionProgress progress) throws IOException {
        Path staging = stage(bundle);
        try {
            write(bundle.toAbsolutePath().normalize(), staging, edit, progress);
            commit(staging, bundle);
        }
        catch (InvalidInputException e) {
            discard(staging);
            throw renamed(e, staging, bundle);
        }
        catch (IOException | RuntimeException | Error e) {
            discard(staging);
            throw e;
        }
    }

    /** The same error naming {@code bundle} instead of the staging folder, which means nothing to the user. */
    public static InvalidInputException renamed(InvalidInputException error, Path staging, Path bundle) {
        return new InvalidInputException(error.getMessage().replace(staging.toString(), bundle.toString()), error);
    }

    /** A hidden, empty sibling folder of {@code bundle} to {@link #write} into. */
    public static Path stage(Path bundle) throws IOException {
        return BundleFolders.createStaging(bundle.toAbsolutePath().normalize());
    }

    /** Replaces {@code bundle} by the finished {@code staging} folder in one rename. */
    public static void commit(Path staging, Path bundle) throws IOException {
        BundleFolders.replace(staging, bundle.toAbsolutePath().normalize());
    }

    /** Removes a staging folder that will not be committed. */
    public static void discard(Path staging) {
        BundleFolders.deleteQuietly(staging);
    }

    /** Writes the edited bundle into the empty folder {@code output}, leaving {@code bundle} untouched. */
    public static void write(Path bundle, Path output, Edit edit, ConversionProgress progress) throws IOException {
        ObjectNode config = (ObjectNode) JsonDocuments.read(bundle.resolve(HfCheckpointLoader.CONFIG), 1 << 24);
        ObjectNode edited = edit.config().apply(config.deepCopy());
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            Map<String, String> weightMap = rewriteSafetensors(bundle, output, model, edit, progress);
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
        copyOtherFiles(bundle, output, edit);
        for (Map.Entry<String, byte[]> file : edit.files().entrySet()) {
            Files.write(output.resolve(file.getKey()), file.getValue());
        }
        progress.stage("writing the ONNX graph");
        try (ModelDescription updated = CheckpointLoader.open(output)) {
            DecoderGraphWriter.write(updated, output);
            if (Files.isDirectory(bundle.resolve(W8ASpikeLayout.FOLDER))) {
                progress.stage("writing the W8ASpike layout");
                W8ASpikeLayout.write(updated, output.resolve(W8ASpikeLayout.FOLDER));
            }
        }
        refreshManifests(output, progress);
    }

    /**
     * Writes every {@code manifest.<target>.json} of the bundle again from its current tensors (same
     * batch and context). A manifest made from a user's target file cannot be, and is removed with a warning.
     */
    public static void refreshManifests(Path bundle, ConversionProgress progress) throws IOException {
        List<Path> manifests = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(bundle, "manifest.*.json")) {
            entries.forEach(manifests::add);
        }
        if (manifests.isEmpty()) {
            return;
        }
        manifests.sort(null);
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            for (Path manifest : manifests) {
                rewriteManifest(manifest, model, bundle, progress);
            }
        }
    }

    /** Rewrites every safetensors file of the bundle; returns the new weight map of a sharded bundle, or null. */
    private static Map<String, String> rewriteSafetensors(Path bundle, Path output, ModelDescription model, Edit edit, ConversionProgress progress)
            throws IOException {
        List<String> files = new ArrayList<>();
        Path index = bundle.resolve(BundleWriter.INDEX);
        if (Files.isRegularFile(index)) {
            JsonNode weightMap = JsonDocuments.read(index, 1 << 26).path("weight_map");
            weightMap.properties().forEach(entry -> {
                if (!files.contains(entry.getValue().asText())) {
                    files.add(entry.getValue().asText());
                }
            });
        }
        else {
            files.add(BundleWriter.SAFETENSORS);
        }
        Map<String, NewTensor> pending = new LinkedHashMap<>(edit.added());
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int i = 0; i < files.size(); i++) {
            String file = files.get(i);
            progress.stage("writing " + file);
            try (SafetensorsFile safetensors = SafetensorsFile.open(bundle.resolve(file))) {
                List<Planned> planned = plan(safetensors, model, edit, pending, i == files.size() - 1);
                Map<String, Planned> byName = new LinkedHashMap<>();
                planned.forEach(entry -> byName.put(entry.entry().name(), entry));
                SafetensorsWriter.write(output.resolve(file), planned.stream().map(Planned::entry).toList(), safetensors.metadata(),
                        (entry, channel) -> byName.get(entry.name()).content().write(entry, channel));
                planned.forEach(entry -> weightMap.put(entry.entry().name(), file));
            }
        }
        return files.size() > 1 ? weightMap : null;
    }

    private record Planned(SafetensorsWriter.TensorEntry entry, SafetensorsWriter.TensorContent content) {}

    /** The tensors of one file in their order, each added tensor right after its module's weight (and scale); leftovers go last in the last file. */
    private static List<Planned> plan(SafetensorsFile file, ModelDescription model, Edit edit, Map<String, NewTensor> pending, boolean last) {
        List<Planned> planned = new ArrayList<>();
        Map<String, StoredTensor> stored = file.tensors();
        for (StoredTensor tensor : stored.values()) {
            String name = tensor.name();
            String canonical = SpikingBrainNames.toCanonical(name).orElse(name);
            boolean scale = name.endsWith(SpikingBrainNames.SCALE_SUFFIX)
                    && stored.containsKey(name.substring(0, name.length() - SpikingBrainNames.SCALE_SUFFIX.length()));
            if (scale) {
                continue;
            }
            if (edit.removed().test(canonical) || pending.containsKey(canonical)) {
                continue;
            }
            float[] replacement = edit.replaced().get(canonical);
            TensorView view = model.tensors().get(canonical);
            if (replacement != null && view instanceof ScaledInt8Tensor int8) {
                planned.addAll(quantized(name, canonical, int8, replacement));
            }
            else if (replacement != null) {
                checkLength(canonical, tensor.shape(), replacement);
                planned.add(new Planned(new SafetensorsWriter.TensorEntry(name, tensor.dtype(), tensor.shape()),
                        (entry, channel) -> encode(replacement, tensor.dtype(), channel)));
            }
            else {
                planned.add(new Planned(new SafetensorsWriter.TensorEntry(name, tensor.dtype(), tensor.shape()), (entry, channel) -> copy(tensor, channel)));
                String scaleName = name + SpikingBrainNames.SCALE_SUFFIX;
                if (stored.containsKey(scaleName)) {
                    StoredTensor scaleTensor = stored.get(scaleName);
                    planned.add(new Planned(new SafetensorsWriter.TensorEntry(scaleName, scaleTensor.dtype(), scaleTensor.shape()),
                            (entry, channel) -> copy(scaleTensor, channel)));
                }
            }
            if (canonical.endsWith(".weight")) {
                String module = canonical.substring(0, canonical.length() - ".weight".length());
                for (Iterator<Map.Entry<String, NewTensor>> it = pending.entrySet().iterator(); it.hasNext();) {
                    Map.Entry<String, NewTensor> added = it.next();
                    if (added.getKey().startsWith(module + ".")) {
                        planned.add(newTensor(added.getKey(), added.getValue()));
                        it.remove();
                    }
                }
            }
        }
        if (last) {
            pending.forEach((name, tensor) -> planned.add(newTensor(name, tensor)));
            pending.clear();
        }
        return planned;
    }

    private static Planned newTensor(String canonical, NewTensor tensor) {
        String name = SpikingBrainNames.fromCanonical(canonical);
        return new Planned(new SafetensorsWriter.TensorEntry(name, tensor.dtype(), tensor.shape()),
                (entry, channel) -> SafetensorsWriter.writeFully(channel, ByteBuffer.wrap(tensor.bytes())));
    }

    /** New float values of an int8 weight, quantized with the bundle's own group: codes, then scales. */
    private static List<Planned> quantized(String name, String canonical, ScaledInt8Tensor weight, float[] values) {
        int rows = Math.toIntExact(weight.shape().dimension(0));
        int columns = Math.toIntExact(weight.shape().dimension(1));
        checkLength(canonical, weight.shape(), values);
        int group = Math.min(weight.groupSize(), columns);
        int groups = Int8Quantizer.groupsPerRow(columns, group);
        byte[] codes = new byte[values.length];
        float[] scales = new float[rows * groups];
        Int8Quantizer.quantize(values, rows, columns, group, codes, scales);
        return List.of(
                new Planned(new SafetensorsWriter.TensorEntry(name, DType.I8, weight.shape()), (entry, channel) -> SafetensorsWriter.writeFully(channel, ByteBuffer.wrap(codes))),
                new Planned(new SafetensorsWriter.TensorEntry(name + SpikingBrainNames.SCALE_SUFFIX, DType.F32, Shape.of(rows, groups)),
                        (entry, channel) -> encode(scales, DType.F32, channel)));
    }

    private static void checkLength(String name, Shape shape, float[] values) {
        if (values.length != shape.elementCount()) {
            throw new IllegalArgumentException("replacement for " + name + " has " + values.length + " values, the tensor " + shape.elementCount());
        }
        for (float value : values) {
            if (!Float.isFinite(value)) {
                throw new IllegalArgumentException("replacement for " + name + " has a non-finite value");
            }
        }
    }

    private static void copy(StoredTensor tensor, WritableByteChannel channel) throws IOException {
        MemorySegment data = tensor.data();
        for (long offset = 0; offset < data.byteSize(); offset += COPY_CHUNK) {
            SafetensorsWriter.writeFully(channel, data.asSlice(offset, Math.min(COPY_CHUNK, data.byteSize() - offset)).asByteBuffer());
        }
    }

    private static void encode(float[] values, DType type, WritableByteChannel channel) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * type.elementSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            switch (type) {
                case F32 -> bytes.putFloat(value);
                case F64 -> bytes.putDouble(value);
                case F16 -> bytes.putShort(FloatEncodings.floatToHalf(value));
                case BF16 -> bytes.putShort(FloatEncodings.floatToBfloat16(value));
                case F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K ->
                        throw new IllegalStateException("a bundle does not store replaceable values as " + type);
            }
        }
        SafetensorsWriter.writeFully(channel, bytes.flip());
    }

    /** Copies files the update does not rebuild (tokenizer, manifests to refresh, ...). */
    private static void copyOtherFiles(Path bundle, Path output, Edit edit) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(bundle)) {
            List<Path> sorted = new ArrayList<>();
            entries.forEach(sorted::add);
            sorted.sort(null);
            for (Path entry : sorted) {
                String name = entry.getFileName().toString();
                if (!Files.isRegularFile(entry) || name.startsWith(".") || REBUILT_FILES.contains(name) || name.endsWith(".safetensors")
                        || edit.files().containsKey(name)) {
                    continue;
                }
                Files.copy(entry, output.resolve(name));
            }
        }
    }

    private static void rewriteManifest(Path old, ModelDescription updated, Path output, ConversionProgress progress) throws IOException {
        JsonNode manifest = JsonDocuments.read(old, 1 << 26);
        String id = manifest.path("target").path("id").asText();
        if (!TargetProfiles.shippedIds().contains(id)) {
            Files.delete(old);
            progress.warning(old.getFileName() + " was made from a target file, which the bundle does not keep; it is removed: run spikeconv manifest again");
            return;
        }
        TargetProfile profile = TargetProfiles.shipped(id);
        JsonNode memory = manifest.path("memory");
        ManifestOptions options = new ManifestOptions(memory.path("batch").asInt(ManifestOptions.DEFAULT.batch()),
                memory.path("context").asInt(ManifestOptions.DEFAULT.context()));
        progress.stage("writing the " + id + " manifest");
        KernelManifest.write(updated, output, profile, options);
    }
}
