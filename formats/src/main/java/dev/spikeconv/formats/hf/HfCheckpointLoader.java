package dev.spikeconv.formats.hf;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.CheckpointFormat;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.pytorch.PytorchCheckpoint;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Loads a Hugging Face model folder: {@code config.json} and weights as one safetensors file, sharded
 * safetensors, one {@code pytorch_model.bin} or sharded PyTorch files. A {@code gla_swa} folder (a
 * spikeconv bundle) has its SpikingBrain names mapped to canonical ones and its int8 weights paired
 * with their scales.
 */
public final class HfCheckpointLoader {
    public static final String CONFIG = "config.json";
    public static final String SAFETENSORS = "model.safetensors";
    public static final String SAFETENSORS_INDEX = "model.safetensors.index.json";
    public static final String PYTORCH = "pytorch_model.bin";
    public static final String PYTORCH_INDEX = "pytorch_model.bin.index.json";

    private HfCheckpointLoader() {}

    /** The tensors of one or more files, under their file names, with what must be closed. */
    private record RawTensors(CheckpointFormat format, Map<String, TensorView> tensors, List<Path> files, List<AutoCloseable> resources) {}

    /** One opened weight file. */
    private record OpenedFile(Map<String, ? extends TensorView> tensors, AutoCloseable resource) {}

    @FunctionalInterface
    private interface FileOpener {
        OpenedFile open(Path path) throws IOException;
    }

    public static ModelDescription load(Path directory) throws IOException {
        Path configFile = directory.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw InvalidInputException.forFile(directory, "no " + CONFIG + " beside the weights; a Hugging Face checkpoint needs one");
        }
        HfConfig config = HfConfig.read(configFile);
        RawTensors raw = openWeights(directory);
        Map<String, TensorView> tensors;
        try {
            tensors = config.config().architecture() == Architecture.GLA_SWA
                    ? spikingBrainTensors(raw.tensors(), config.quantizationGroup(), directory)
                    : raw.tensors();
        }
        catch (RuntimeException e) {
            raw.resources().forEach(HfCheckpointLoader::closeQuietly);
            throw e;
        }
        List<Path> files = new ArrayList<>(List.of(configFile));
        files.addAll(raw.files());
        return ModelDescription.assemble(raw.format(), config.config(), tensors, files, raw.resources(), directory);
    }

    private static RawTensors openWeights(Path directory) throws IOException {
        FileOpener safetensors = path -> {
            SafetensorsFile file = SafetensorsFile.open(path);
            return new OpenedFile(file.tensors(), file);
        };
        FileOpener pytorch = path -> {
            PytorchCheckpoint checkpoint = PytorchCheckpoint.open(path);
            return new OpenedFile(checkpoint.tensors(), checkpoint);
        };
        if (Files.isRegularFile(directory.resolve(SAFETENSORS_INDEX))) {
            return openSharded(ShardIndex.read(directory.resolve(SAFETENSORS_INDEX)), CheckpointFormat.SAFETENSORS, safetensors);
        }
        if (Files.isRegularFile(directory.resolve(SAFETENSORS))) {
            return openSingle(directory.resolve(SAFETENSORS), CheckpointFormat.SAFETENSORS, safetensors);
        }
        if (Files.isRegularFile(directory.resolve(PYTORCH_INDEX))) {
            return openSharded(ShardIndex.read(directory.resolve(PYTORCH_INDEX)), CheckpointFormat.PYTORCH, pytorch);
        }
        if (Files.isRegularFile(directory.resolve(PYTORCH))) {
            return openSingle(directory.resolve(PYTORCH), CheckpointFormat.PYTORCH, pytorch);
        }
        throw InvalidInputException.forFile(directory, "no weights: expected " + SAFETENSORS + ", " + SAFETENSORS_INDEX + ", " + PYTORCH + " or " + PYTORCH_INDEX);
    }

    private static RawTensors openSingle(Path path, CheckpointFormat format, FileOpener opener) throws IOException {
        OpenedFile file = opener.open(path);
        return new RawTensors(format, new LinkedHashMap<>(file.tensors()), List.of(path), List.of(file.resource()));
    }

    /** Opens every shard and checks that the shards hold exactly the tensors the index assigns them. */
    private static RawTensors openSharded(ShardIndex index, CheckpointFormat format, FileOpener opener) throws IOException {
        Map<String, TensorView> tensors = new LinkedHashMap<>();
        List<Path> files = new ArrayList<>(List.of(index.indexFile()));
        List<AutoCloseable> resources = new ArrayList<>();
        try {
            for (String shard : index.shards()) {
                Path path = index.shardPath(shard);
                if (!Files.isRegularFile(path)) {
                    throw InvalidInputException.forFile(index.indexFile(), "weight_map names shard " + shard + ", which does not exist");
                }
                OpenedFile file = opener.open(path);
                resources.add(file.resource());
                files.add(path);
                for (Map.Entry<String, ? extends TensorView> entry : file.tensors().entrySet()) {
                    String expectedShard = index.shardByTensor().get(entry.getKey());
                    if (!shard.equals(expectedShard)) {
                        throw InvalidInputException.forFile(path, "holds tensor " + entry.getKey() + ", which the index "
                                + (expectedShard == null ? "does not list" : "assigns to " + expectedShard));
                    }
                    tensors.put(entry.getKey(), entry.getValue());
                }
            }
            TreeSet<String> missing = new TreeSet<>(index.shardByTensor().keySet());
            missing.removeAll(tensors.keySet());
            if (!missing.isEmpty()) {
                String first = missing.first();
                throw InvalidInputException.forFile(index.indexFile(), "weight_map lists " + missing.size() + " tensor(s) no shard holds, e.g. "
                        + first + " in " + index.shardByTensor().get(first));
            }
            return new RawTensors(format, tensors, files, resources);
        }
        catch (IOException | RuntimeException e) {
            resources.forEach(HfCheckpointLoader::closeQuietly);
            throw e;
        }
    }

    private static Map<String, TensorView> spikingBrainTensors(Map<String, TensorView> raw, int group, Path directory) {
        Map<String, TensorView> canonical = new LinkedHashMap<>();
        for (Map.Entry<String, TensorView> entry : raw.entrySet()) {
            String name = entry.getKey();
            TensorView tensor = entry.getValue();
            if (name.endsWith(SpikingBrainNames.SCALE_SUFFIX) && raw.containsKey(name.substring(0, name.length() - SpikingBrainNames.SCALE_SUFFIX.length()))) {
                continue; // consumed with its weight below
            }
            TensorView scale = raw.get(name + SpikingBrainNames.SCALE_SUFFIX);
            if (tensor.dtype() == DType.I8 && scale != null) {
                tensor = scaledInt8(name, tensor, scale, group, directory);
            }
            String canonicalName = SpikingBrainNames.toCanonical(name).orElse(name);
            canonical.put(canonicalName, tensor);
        }
        return canonical;
    }

    private static TensorView scaledInt8(String name, TensorView codes, TensorView scale, int group, Path directory) {
        if (!(codes instanceof StoredTensor storedCodes) || !(scale instanceof StoredTensor storedScale) || codes.shape().rank() != 2) {
            throw InvalidInputException.forField(directory, name, "a 2-d int8 weight with an F32 " + name + SpikingBrainNames.SCALE_SUFFIX, codes.shape());
        }
        int columns = (int) Math.min(Integer.MAX_VALUE, codes.shape().columns());
        int groupSize = group == 0 ? columns : group;
        try {
            return new ScaledInt8Tensor(storedCodes, storedScale, Math.max(1, groupSize));
        }
        catch (IllegalArgumentException e) {
            throw InvalidInputException.forField(directory, name + SpikingBrainNames.SCALE_SUFFIX,
                    "F32 " + ScaledInt8Tensor.expectedScaleShape(codes.shape(), Math.max(1, groupSize)) + " for group " + group,
                    scale.dtype() + " " + scale.shape());
        }
    }

    private static void closeQuietly(AutoCloseable resource) {
        try {
            resource.close();
        }
        catch (Exception ignored) {
            // already failing; the original error is the one to report
        }
    }
}
