package dev.spikeconv.converter.inspect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * What {@code spikeconv inspect} reports about a model: format, hyper-parameters, attention per layer,
 * size, and the tensor table. {@link #toJson()} carries the keys of docs/design.md §8 that outside scripts read.
 */
public record ModelInspection(String format, ModelConfig config, long parameters, long bytes, List<TensorRow> tensors, List<String> unusedTensors,
        BundleState bundle) {
    /** One canonical tensor as stored. */
    public record TensorRow(String name, String dtype, long[] shape, long bytes) {}

    /**
     * What a spikeconv bundle says of itself (null for other checkpoints): its plan, how it is quantized and spikes,
     * and whether and how it was calibrated (method, tokens, whether attention transfer ran).
     */
    public record BundleState(String plan, String quantization, String spikeMode, String calibrationMethod, Integer calibrationTokens,
            boolean attentionTransfer, int thresholdTensors) {
        public boolean calibrated() {
            return calibrationMethod != null;
        }
    }

    public ModelInspection {
        tensors = List.copyOf(tensors);
        unusedTensors = List.copyOf(unusedTensors);
    }

    /** Opens the checkpoint at {@code path}, inspects it and closes it. */
    public static ModelInspection inspect(Path path) throws IOException {
        try (ModelDescription model = CheckpointLoader.open(path)) {
            return of(model, bundleState(path, model));
        }
    }

    public static ModelInspection of(ModelDescription model) {
        return of(model, null);
    }

    private static ModelInspection of(ModelDescription model, BundleState bundle) {
        List<TensorRow> rows = model.tensors().entrySet().stream()
                .map(entry -> {
                    TensorView tensor = entry.getValue();
                    return new TensorRow(entry.getKey(), tensor.dtype().name(), tensor.shape().dimensions(), tensor.byteSize());
                })
                .toList();
        // A bundle's spike thresholds are part of its model, though no format reader knows them.
        List<String> unused = model.unusedTensors().stream().filter(name -> !isThreshold(name)).toList();
        return new ModelInspection(model.format().id(), model.config(), model.parameterCount(), model.storedBytes(), rows, unused, bundle);
    }

    private static boolean isThreshold(String name) {
        return name.endsWith(SpikeSites.THRESHOLD_INTEGER_SUFFIX) || name.endsWith(SpikeSites.THRESHOLD_EXPONENT_SUFFIX) || name.endsWith(SpikeSites.K_SUFFIX);
    }

    /** The spikeconv section of a bundle folder's config and its calibration.json, or null for anything else. */
    private static BundleState bundleState(Path path, ModelDescription model) throws IOException {
        Path configFile = path.resolve("config.json");
        if (model.config().architecture() != Architecture.GLA_SWA || !Files.isRegularFile(configFile)) {
            return null;
        }
        JsonNode spikeconv = JsonDocuments.read(configFile, 1 << 24).path("spikeconv");
        JsonNode quantization = spikeconv.path("quantization");
        String quantized = quantization.path("bits").asInt(0) == 8
                ? "int8, " + (quantization.path("group").asInt(0) == 0 ? "one scale per row" : "groups of " + quantization.path("group").asInt())
                : "none (weights as the source stored them)";
        JsonNode calibration = spikeconv.path("calibration");
        String method = calibration.isObject() ? calibration.path("method").asText(null) : null;
        Integer tokens = null;
        Path calibrationFile = path.resolve(calibration.path("file").asText("calibration.json"));
        if (method != null && Files.isRegularFile(calibrationFile)) {
            JsonNode data = JsonDocuments.read(calibrationFile, 1 << 26).path("data");
            tokens = data.path("tokens").isInt() ? data.path("tokens").asInt() : null;
        }
        int thresholds = (int) model.extraTensors().keySet().stream().filter(ModelInspection::isThreshold).count();
        return new BundleState(spikeconv.path("plan").asText("?"), quantized, model.config().spike().mode().id(), method, tokens,
                calibration.path("attention_transfer").asBoolean(false), thresholds);
    }

    public ObjectNode toJson() {
        JsonNodeFactory json = JsonNodeFactory.instance;
        ObjectNode root = json.objectNode();
        root.put("format", format);
        root.put("architecture", config.architecture().id());
        root.put("vocab_size", config.vocabularySize());
        root.put("hidden_size", config.hiddenSize());
        root.put("intermediate_size", config.intermediateSize());
        root.put("num_layers", config.layerCount());
        root.put("num_heads", config.headCount());
        root.put("num_kv_heads", config.keyValueHeadCount());
        root.put("head_dim", config.headDimension());
        root.put("rope_theta", config.ropeTheta());
        root.put("rms_norm_eps", config.normEpsilon());
        root.put("tie_word_embeddings", config.tiedEmbeddings());
        root.put("parameters", parameters);
        root.put("bytes", bytes);
        ArrayNode layers = root.putArray("layers");
        for (int index = 0; index < config.layerCount(); index++) {
            LayerAttention layer = config.layer(index);
            ObjectNode node = layers.addObject();
            node.put("index", index);
            node.put("attention", layer.kind().id());
            if (layer.kind().windowed()) {
                node.put("window", layer.window());
                node.put("sinks", layer.sinks());
            }
            else {
                node.putNull("window");
            }
        }
        ArrayNode tensorArray = root.putArray("tensors");
        for (TensorRow tensor : tensors) {
            ObjectNode node = tensorArray.addObject();
            node.put("name", tensor.name());
            node.put("dtype", tensor.dtype());
            ArrayNode shape = node.putArray("shape");
            Arrays.stream(tensor.shape()).forEach(shape::add);
        }
        root.put("context_length", config.maxPositions());
        ArrayNode unused = root.putArray("unused_tensors");
        unusedTensors.forEach(unused::add);
        if (bundle != null) {
            ObjectNode node = root.putObject("bundle");
            node.put("plan", bundle.plan()).put("quantization", bundle.quantization()).put("spike_mode", bundle.spikeMode())
                    .put("threshold_tensors", bundle.thresholdTensors()).put("calibrated", bundle.calibrated());
            if (bundle.calibrated()) {
                node.put("calibration_method", bundle.calibrationMethod()).put("attention_transfer", bundle.attentionTransfer());
                if (bundle.calibrationTokens() != null) {
                    node.put("calibration_tokens", bundle.calibrationTokens());
                }
            }
        }
        return root;
    }
}
