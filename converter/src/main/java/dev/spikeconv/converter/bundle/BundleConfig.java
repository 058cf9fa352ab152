package dev.spikeconv.converter.bundle;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.SpikeconvVersion;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.formats.model.CheckpointFormat;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.RopeScaling;
import dev.spikeconv.formats.model.SpikeSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The bundle's {@code config.json} (docs/design.md §5): SpikingBrain's {@code gla_swa} keys, so its loaders
 * read it, plus the {@code spikeconv} section, whose {@code layers} list is authoritative.
 */
public final class BundleConfig {
    public static final String WINDOW_CONVENTION = "keys_including_self";
    /** {@code spikeconv.quantization.relative_errors}: per int8 tensor, {@code ‖w − ŵ‖ / ‖w‖} against the weights it encodes. */
    public static final String RELATIVE_ERRORS = "relative_errors";

    private BundleConfig() {}

    public static ObjectNode toJson(ModelConfig config, String plan, QuantizationOptions quantization, CheckpointFormat sourceFormat,
            ModelConfig sourceConfig, Map<String, String> sourceHashes, String torchDtype, SequencedMap<String, Double> quantizationErrors) {
        JsonNodeFactory json = JsonNodeFactory.instance;
        ObjectNode root = json.objectNode();
        root.putArray("architectures").add("GLAswaForCausalLM");
        root.put("model_type", "gla_swa");
        root.put("vocab_size", config.vocabularySize());
        root.put("hidden_size", config.hiddenSize());
        root.put("intermediate_size", config.intermediateSize());
        root.put("num_hidden_layers", config.layerCount());
        root.put("num_attention_heads", config.headCount());
        root.put("num_key_value_heads", config.keyValueHeadCount());
        root.put("head_dim", config.headDimension());
        root.put("hidden_act", "silu");
        root.put("rms_norm_eps", config.normEpsilon());
        root.put("rope_theta", config.ropeTheta());
        RopeScaling scaling = config.ropeScaling();
        switch (scaling.kind()) {
            case NONE -> root.putNull("rope_scaling");
            case LINEAR -> root.putObject("rope_scaling").put("rope_type", "linear").put("factor", scaling.factor());
            case LLAMA3 -> root.putObject("rope_scaling").put("rope_type", "llama3").put("factor", scaling.factor())
                    .put("low_freq_factor", scaling.lowFrequencyFactor()).put("high_freq_factor", scaling.highFrequencyFactor())
                    .put("original_max_position_embeddings", scaling.originalMaxPositions());
        }
        root.put("max_position_embeddings", config.maxPositions());
        root.put("tie_word_embeddings", config.tiedEmbeddings());
        root.put("qkv_bias", config.qkvBias());
        root.put("o_proj_bias", config.outputProjectionBias());
        root.put("mlp_bias", config.mlpBias());
        root.put("qk_norm", config.qkNorm());
        config.bosTokenId().ifPresent(id -> root.put("bos_token_id", id));
        config.eosTokenId().ifPresent(id -> root.put("eos_token_id", id));
        ArrayNode attentionLayers = root.putArray("attn_layers");
        int largestWindow = 0;
        for (int index = 0; index < config.layerCount(); index++) {
            LayerAttention layer = config.layer(index);
            // SpikingBrain's loaders take every layer that is not GLA for softmax attention, windowed by sliding_window.
            if (!LayerKind.of(layer).keepsState()) {
                attentionLayers.add(index);
            }
            largestWindow = Math.max(largestWindow, layer.window());
        }
        if (largestWindow > 0) {
            root.put("sliding_window", largestWindow);
        }
        else {
            root.putNull("sliding_window");
        }
        root.put("gate_low_rank_dim", config.gateLowRankDimension());
        root.put("gate_logit_normalizer", config.gateLogitNormalizer());
        root.put("torch_dtype", torchDtype);

        ObjectNode spikeconv = root.putObject("spikeconv");
        spikeconv.put("version", SpikeconvVersion.get());
        spikeconv.put("plan", plan);
        // SpikingBrain's loaders know GLA and (windowed) softmax layers only: a hybrid layer is spikeconv's own kind.
        List<Integer> ownKind = new ArrayList<>();
        for (int index = 0; index < config.layerCount(); index++) {
            if (config.layer(index).kind().linearFeatures()) {
                ownKind.add(index);
            }
        }
        spikeconv.put("spikingbrain_loadable", ownKind.isEmpty());
        ArrayNode spikeconvOnly = spikeconv.putArray("spikeconv_only_layers");
        ownKind.forEach(spikeconvOnly::add);
        ArrayNode layers = spikeconv.putArray("layers");
        for (int index = 0; index < config.layerCount(); index++) {
            LayerAttention layer = config.layer(index);
            ObjectNode node = layers.addObject().put("index", index).put("attention", layer.kind().id());
            if (layer.kind().windowed()) {
                node.put("window", layer.window()).put("sinks", layer.sinks());
            }
            else {
                node.putNull("window").put("sinks", 0);
            }
        }
        spikeconv.put("window_convention", WINDOW_CONVENTION);
        ObjectNode quantizationNode = spikeconv.putObject("quantization");
        if (quantization.enabled()) {
            quantizationNode.put("bits", 8).put("scheme", "symmetric").put("group", quantization.group());
        }
        else {
            quantizationNode.putNull("bits").put("scheme", "none").putNull("group");
        }
        quantizationNode.put("embeddings", quantization.embeddings()).put("lm_head", quantization.head());
        ObjectNode errors = quantizationNode.putObject(RELATIVE_ERRORS);
        quantizationErrors.forEach(errors::put);
        SpikeSettings spike = config.spike();
        ObjectNode spikeNode = spikeconv.putObject("spike").put("mode", spike.mode().id()).put("k", spike.k()).put("T", spike.timeSteps())
                .put("coding", spike.coding().id());
        ArrayNode exclude = spikeNode.putArray("exclude");
        spike.exclude().forEach(exclude::add);
        ObjectNode source = spikeconv.putObject("source");
        source.put("format", sourceFormat.id());
        source.put("architecture", sourceConfig.architecture().id());
        ObjectNode files = source.putObject("files");
        sourceHashes.forEach(files::put);
        return root;
    }
}
