package dev.spikeconv.converter.hardware;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.SpikeconvVersion;
import dev.spikeconv.converter.layers.OpFamily;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;

/**
 * Writes {@code manifest.<target>.json} (docs/design.md §6): which kernel runs each layer in each phase and
 * with what layout, chunk, window, state dtype, weight packing and spike coding; memory for the
 * chosen batch and context; operations and energy per token; and the SHA-256 of every tensor. A model
 * that breaks a constraint of the target is refused with every violation in one line.
 */
public final class KernelManifest {
    public static final int VERSION = 1;

    private KernelManifest() {}

    public static String fileName(String targetId) {
        return "manifest." + targetId + ".json";
    }

    /** Checks the constraints and writes the manifest into {@code bundleDirectory} (a bundle being staged); returns its path. */
    public static Path write(ModelDescription bundle, Path bundleDirectory, TargetProfile target, ManifestOptions options) throws IOException {
        Path file = bundleDirectory.resolve(fileName(target.id()));
        Path temporary = bundleDirectory.resolve("." + fileName(target.id()) + ".tmp");
        Files.write(temporary, bytes(bundle, bundleDirectory, target, options));
        Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return file;
    }

    /** Checks the constraints and returns the manifest's bytes. */
    public static byte[] bytes(ModelDescription bundle, Path bundleDirectory, TargetProfile target, ManifestOptions options) throws IOException {
        return JsonDocuments.writer().writeValueAsString(build(bundle, bundleDirectory, target, options)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    public static ObjectNode build(ModelDescription bundle, Path bundleDirectory, TargetProfile target, ManifestOptions options) throws IOException {
        ModelFootprint footprint = ModelFootprint.of(bundle);
        List<String> violations = TargetConstraints.violations(footprint, target, options);
        if (!violations.isEmpty()) {
            throw InvalidInputException.forFile(bundleDirectory, "breaks target " + target.id() + ": " + String.join("; ", violations));
        }
        ModelConfig config = bundle.config();
        JsonNodeFactory json = JsonNodeFactory.instance;
        ObjectNode root = json.objectNode();
        root.put("manifest_version", VERSION);
        root.put("spikeconv_version", SpikeconvVersion.get());
        ObjectNode targetNode = root.putObject("target");
        targetNode.put("id", target.id()).put("name", target.name()).put("profile_sha256", target.sha256());
        ObjectNode libraries = targetNode.putObject("kernel_libraries");
        target.kernelLibraries().forEach(libraries::put);
        ObjectNode model = root.putObject("model");
        model.put("architecture", config.architecture().id()).put("layers", config.layerCount()).put("hidden_size", config.hiddenSize())
                .put("heads", config.headCount()).put("kv_heads", config.keyValueHeadCount()).put("head_dim", config.headDimension())
                .put("vocab_size", config.vocabularySize());
        SpikeSettings spike = config.spike();
        model.putObject("spike").put("mode", spike.mode().id()).put("coding", spike.coding().id()).put("max_count", spike.timeSteps())
                .put("time_steps", footprint.timeSteps());

        ArrayNode layers = root.putArray("layers");
        for (ModelFootprint.LayerNeeds layer : footprint.layers()) {
            ObjectNode node = layers.addObject();
            LayerAttention attention = layer.kind().attention();
            node.put("index", layer.index()).put("attention", attention.kind().id());
            // The first family runs the layer's token mixing; a hybrid's linear branch is described beside it.
            OpFamily family = layer.attentionFamilies().getFirst();
            OpSupport support = target.ops().get(family);
            ObjectNode phases = node.putObject("phases");
            for (String phase : new String[] {"prefill", "decode"}) {
                ObjectNode phaseNode = phases.putObject(phase);
                KernelChoice kernel = phase.equals("prefill") ? support.prefill() : support.decode();
                phaseNode.put("op_family", family.id());
                kernel(phaseNode, kernel);
                if (family == OpFamily.GLA) {
                    phaseNode.put("state_dtype", support.stateDtype());
                }
                if (layer.kind().keepsKeys()) {
                    phaseNode.put("kv_dtype", support.cacheDtype());
                }
                for (OpFamily branch : layer.attentionFamilies().subList(1, layer.attentionFamilies().size())) {
                    OpSupport branchSupport = target.ops().get(branch);
                    ObjectNode branchNode = phaseNode.putObject("linear_branch").put("op_family", branch.id());
                    kernel(branchNode, phase.equals("prefill") ? branchSupport.prefill() : branchSupport.decode());
                    branchNode.put("state_dtype", branchSupport.stateDtype());
                    // What the branch's kernel computes: no decay, keys and queries as positive random features of the rotated
                    // vectors (attn.feature_map.weight and .bias), and the window's softmax denominator shared with it (design.md §4).
                    branchNode.put("decay", "none").put("feature_map", "exp(W x / d^0.25 - |x|^2 / (2 sqrt(d)) + b) / sqrt(m)")
                            .put("features", AttentionKind.HYBRID_FEATURES).put("normalizer", "shared_with_window");
                }
                if (attention.kind().windowed()) {
                    phaseNode.put("window", attention.window()).put("sinks", attention.sinks())
                            .put("window_convention", support.windowConvention())
                            .put("kernel_window_argument", support.windowConvention().equals("flash_attn_left_window") ? attention.window() - 1 : attention.window());
                }
                ArrayNode projections = phaseNode.putArray("projections");
                for (ModelFootprint.Projection projection : layer.projections()) {
                    ObjectNode projectionNode = projections.addObject().put("name", projection.name()).put("op_family", projection.family().id());
                    projectionNode.put("kernel", target.ops().get(projection.family()).prefill().kernel());
                    projectionNode.putObject("weight_packing").put("bits", projection.bits()).put("group", projection.group());
                    if (projection.spiking()) {
                        projectionNode.put("spike_coding", spike.coding().id()).put("time_steps", footprint.timeSteps());
                    }
                    else {
                        projectionNode.putNull("spike_coding");
                    }
                }
            }
        }
        ObjectNode others = root.putObject("other_ops");
        for (OpFamily family : footprint.families()) {
            if (!family.phased() && family != OpFamily.INT8_SPIKE_GEMM && family != OpFamily.INT8_GEMM && family != OpFamily.FLOAT_GEMM) {
                kernel(others.putObject(family.id()), target.ops().get(family).prefill());
            }
        }

        TargetMemory memory = TargetMemory.of(footprint, target, options);
        root.putObject("memory").put("weight_bytes", memory.weightBytes()).put("state_bytes_per_sequence", memory.stateBytesPerSequence())
                .put("kv_bytes_per_sequence_full_window", memory.windowCacheBytesPerSequence())
                .put("kv_bytes_per_sequence_softmax_at_context", memory.fullCacheBytesPerSequence())
                .put("batch", options.batch()).put("context", options.context()).put("total_bytes", memory.totalBytes())
                .put("capacity_bytes", target.memory().capacityBytes());
        List<BundleTensorHashes.TensorHash> hashes = BundleTensorHashes.of(bundleDirectory);
        OperationEstimate operations = OperationEstimate.of(footprint, target, options, MeasuredActivity.eventsPerInput(bundleDirectory, hashes));
        root.putObject("operations_per_token").put("context", options.context()).put("dense_macs", operations.denseMacs())
                .put("spiking_int8_adds", operations.spikingAdds()).put("float_macs_when_spiking", operations.floatMacsWhenSpiking())
                .put("spike_events_per_input", operations.eventsPerInput()).put("activity_source", operations.activitySource());
        TargetProfile.Energy energy = target.energy();
        root.putObject("energy_per_token").put("dense_fp16_joules", operations.denseJoules()).put("spiking_joules", operations.spikingJoules())
                .put("ratio", operations.spikingJoules() / operations.denseJoules()).put("table", energy.source());
        ArrayNode tensors = root.putArray("tensors");
        for (BundleTensorHashes.TensorHash tensor : hashes) {
            ObjectNode node = tensors.addObject().put("name", tensor.name()).put("dtype", tensor.dtype());
            ArrayNode shape = node.putArray("shape");
            Arrays.stream(tensor.shape()).forEach(shape::add);
            node.put("sha256", tensor.sha256());
        }
        return root;
    }

    private static void kernel(ObjectNode node, KernelChoice kernel) {
        node.put("kernel", kernel.kernel());
        if (kernel.layout() != null) {
            node.put("layout", kernel.layout());
        }
        if (kernel.chunk() != null) {
            node.put("chunk_size", kernel.chunk());
        }
        node.put("availability", kernel.availability());
    }
}
