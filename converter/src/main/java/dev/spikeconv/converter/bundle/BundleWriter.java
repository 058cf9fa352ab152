package dev.spikeconv.converter.bundle;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.hardware.KernelManifest;
import dev.spikeconv.converter.hardware.TargetProfile;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.hf.HfCheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts a dense model into a spikeconv bundle (docs/design.md §5). Everything is built in a hidden
 * temporary sibling of the output folder and renamed into place at the end, so an interrupted run
 * leaves no output; the ONNX graph is written from the bundle's own safetensors as read back, so
 * graph and weights cannot disagree. The same inputs and options give byte-identical files.
 */
public final class BundleWriter {
    public static final String SAFETENSORS = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    /** What a finished conversion produced and read. */
    public record Summary(Path output, int tensorCount, long sourceBytes, long writtenBytes, long nanos) {}

    private BundleWriter() {}

    public static Summary convert(ModelDescription source, Path sourcePath, Path output, ConversionOptions options, ConversionProgress progress)
            throws IOException {
        long start = System.nanoTime();
        Path target = output.toAbsolutePath().normalize();
        if (options.w8aSpikeLayout()) {
            ModelConfig sourceConfig = source.config();
            String problem = W8ASpikeLayout.incompatibility(options.quantization(), List.of((long) sourceConfig.hiddenSize(),
                    (long) sourceConfig.headCount() * sourceConfig.headDimension(), (long) sourceConfig.intermediateSize()));
            if (problem != null) {
                throw new InvalidOptionException("layout", problem);
            }
        }
        Closeable lock = BundleFolders.lock(target, progress::warning);
        try (lock) {
            return convertLocked(source, sourcePath, target, options, progress, start);
        }
    }

    private static Summary convertLocked(ModelDescription source, Path sourcePath, Path target, ConversionOptions options, ConversionProgress progress,
            long start) throws IOException {
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            if (!options.force()) {
                throw new InvalidOptionException("force", "is needed to replace " + target + ", which already exists");
            }
            BundleFolders.checkReplaceable(target, sourcePath);
        }
        List<SourceStamp> stamps = SourceStamp.of(source.files());
        Path staging = BundleFolders.createStaging(target);
        try (SourceHashes sourceHashes = SourceHashes.start(source, sourcePath)) {
            ModelConfig config = source.config().toBuilder()
                    .architecture(Architecture.GLA_SWA)
                    .layers(options.plan().layers())
                    .spike(options.spike())
                    .build(sourcePath);
            BundleTensors bundleTensors = new BundleTensors(source, config, options.quantization(), sourcePath);
            List<BundleTensor> tensors = bundleTensors.plan();
            long sourceBytes = tensors.stream().mapToLong(BundleTensor::sourceBytes).sum();
            writeSafetensors(tensors, staging, options.maxShardBytes(), sourceBytes, progress);
            progress.stage("hashing the source files");
            Map<String, String> hashes = sourceHashes.result();
            SourceStamp.checkUnchanged(stamps);
            Files.writeString(staging.resolve(HfCheckpointLoader.CONFIG), JsonDocuments.writer().writeValueAsString(
                    BundleConfig.toJson(config, options.plan().name(), options.quantization(), source.format(), source.config(),
                            hashes, torchDtype(source), bundleTensors.relativeErrors())));
            TokenizerExport.copy(sourcePath, staging, progress);
            progress.stage("writing the ONNX graph");
            try (ModelDescription bundle = CheckpointLoader.open(staging)) {
                DecoderGraphWriter.write(bundle, staging);
                if (options.w8aSpikeLayout()) {
                    progress.stage("writing the W8ASpike layout");
                    W8ASpikeLayout.write(bundle, staging.resolve(W8ASpikeLayout.FOLDER));
                }
                for (TargetProfile profile : options.targets()) {
                    progress.stage("writing the " + profile.id() + " manifest");
                    KernelManifest.write(bundle, staging, profile, options.manifestOptions());
                }
            }
            progress.stage("hashing the bundle's files");
            BundleFileHashes.record(staging);
            long written = BundleFolders.size(staging);
            BundleFolders.replace(staging, target);
            return new Summary(target, tensors.size(), sourceBytes, written, System.nanoTime() - start);
        }
        catch (InternalError e) {
            BundleFolders.deleteQuietly(staging);
            // A mapped source that shrinks under us faults on access: that is a changed input, not a bug.
            SourceStamp.checkUnchanged(stamps);
            throw e;
        }
        catch (IOException | RuntimeException | Error e) {
            BundleFolders.deleteQuietly(staging);
            throw e;
        }
    }

    /** One file, or shards of at most {@code maxShardBytes} with an index; an int8 weight stays with its scale. */
    private static void writeSafetensors(List<BundleTensor> tensors, Path directory, long maxShardBytes, long sourceBytes, ConversionProgress progress)
            throws IOException {
        List<List<BundleTensor>> shards = new ArrayList<>();
        List<BundleTensor> current = new ArrayList<>();
        long size = 0;
        for (int i = 0; i < tensors.size(); i++) {
            BundleTensor tensor = tensors.get(i);
            boolean scale = tensor.name().endsWith("_scale") && i > 0 && tensors.get(i - 1).dtype() == DType.I8;
            if (!current.isEmpty() && !scale && size + tensor.byteSize() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(tensor);
            size += tensor.byteSize();
        }
        shards.add(current);
        Map<String, String> weightMap = new LinkedHashMap<>();
        long[] done = {0};
        for (int index = 0; index < shards.size(); index++) {
            String file = shards.size() == 1 ? SAFETENSORS : String.format("model-%05d-of-%05d.safetensors", index + 1, shards.size());
            progress.stage("writing " + file);
            List<BundleTensor> shard = shards.get(index);
            Map<String, BundleTensor> byName = new LinkedHashMap<>();
            shard.forEach(tensor -> byName.put(tensor.name(), tensor));
            Path path = directory.resolve(file);
            long[] written = {0};
            try (WriteBackFlusher flusher = new WriteBackFlusher(path)) {
                SafetensorsWriter.writeUncached(path, shard.stream().map(BundleTensor::entry).toList(), Map.of("format", "pt"), (entry, channel) -> {
                    BundleTensor tensor = byName.get(entry.name());
                    tensor.content().write(entry, channel);
                    written[0] += tensor.byteSize();
                    flusher.written(written[0]);
                    done[0] += tensor.sourceBytes();
                    progress.tensor(entry.name(), done[0], sourceBytes);
                });
            }
            shard.forEach(tensor -> weightMap.put(tensor.name(), file));
        }
        if (shards.size() > 1) {
            var index = JsonDocuments.writer().createObjectNode();
            index.putObject("metadata").put("total_size", tensors.stream().mapToLong(BundleTensor::byteSize).sum());
            var map = index.putObject("weight_map");
            weightMap.forEach(map::put);
            Files.writeString(directory.resolve(INDEX), JsonDocuments.writer().writeValueAsString(index));
        }
    }

    /** The transformers name of the dtype most of the source is stored in. */
    private static String torchDtype(ModelDescription source) {
        Map<DType, Long> bytes = new LinkedHashMap<>();
        source.tensors().values().forEach(tensor -> bytes.merge(BundleTensors.storedType(tensor), tensor.byteSize(), Long::sum));
        DType dominant = bytes.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(DType.F32);
        return switch (dominant) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F64 -> "float64";
            case F32, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K -> "float32";
        };
    }
}
