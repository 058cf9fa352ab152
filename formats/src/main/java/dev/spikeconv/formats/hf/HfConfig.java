package dev.spikeconv.formats.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.json.JsonFields;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.RopeScaling;
import dev.spikeconv.formats.model.SpikeSettings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Hugging Face {@code config.json} for llama, mistral, qwen2, qwen3 or SpikingBrain's {@code gla_swa}
 * (which is what spikeconv bundles are), parsed into the normalized config. Defaults follow each
 * model's transformers configuration class. {@code quantizationGroup} is the int8 group size a bundle
 * declares ({@code spikeconv.quantization.group}), 0 when none.
 */
public record HfConfig(ModelConfig config, int quantizationGroup) {
    static final long MAX_CONFIG_BYTES = 16L << 20;

    public static HfConfig read(Path file) throws IOException {
        return parse(JsonDocuments.read(file, MAX_CONFIG_BYTES), file);
    }

    public static HfConfig parse(JsonNode json, Path file) {
        JsonFields fields = JsonFields.of(file, json, "");
        String modelType = fields.requireString("model_type");
        Architecture architecture = switch (modelType) {
            case "llama" -> Architecture.LLAMA;
            case "mistral" -> Architecture.MISTRAL;
            case "qwen2" -> Architecture.QWEN2;
            case "qwen3" -> Architecture.QWEN3;
            case "gla_swa" -> Architecture.GLA_SWA;
            default -> throw InvalidInputException.forField(file, "model_type", "one of llama, mistral, qwen2, qwen3, gla_swa", modelType);
        };
        String activation = fields.optionalString("hidden_act").orElse("silu");
        if (!activation.equals("silu") && !activation.equals("swish")) {
            throw InvalidInputException.forField(file, "hidden_act", "silu (SwiGLU MLP)", activation);
        }
        int hidden = fields.requirePositiveInt("hidden_size");
        int heads = fields.requirePositiveInt("num_attention_heads");
        int layerCount = fields.requirePositiveInt("num_hidden_layers");
        int headDimension = fields.optionalInt("head_dim").orElseGet(() -> {
            if (hidden % heads != 0) {
                throw InvalidInputException.forField(file, "head_dim", "a value, since hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads, "nothing");
            }
            return hidden / heads;
        });
        boolean attentionBias = fields.optionalBoolean("attention_bias").orElse(false);
        ModelConfig.Builder builder = ModelConfig.builder(architecture)
                .vocabularySize(fields.requirePositiveInt("vocab_size"))
                .hiddenSize(hidden)
                .intermediateSize(fields.requirePositiveInt("intermediate_size"))
                .headCount(heads)
                .keyValueHeadCount(fields.optionalInt("num_key_value_heads").orElse(heads))
                .headDimension(headDimension)
                .normEpsilon(fields.optionalDouble("rms_norm_eps").orElse(1e-6))
                .ropeTheta(ropeTheta(fields))
                .ropeScaling(ropeScaling(fields))
                .maxPositions(fields.optionalInt("max_position_embeddings").orElse(0))
                .tiedEmbeddings(fields.optionalBoolean("tie_word_embeddings").orElse(false))
                .mlpBias(fields.optionalBoolean("mlp_bias").orElse(false))
                .layers(layers(fields, architecture, layerCount));
        switch (architecture) {
            case LLAMA, QWEN3 -> builder.qkvBias(attentionBias).outputProjectionBias(attentionBias).qkNorm(architecture == Architecture.QWEN3);
            case MISTRAL -> builder.qkvBias(false).outputProjectionBias(false);
            case QWEN2 -> builder.qkvBias(true).outputProjectionBias(false);
            case GLA_SWA -> {
                builder.qkvBias(fields.optionalBoolean("qkv_bias").orElse(attentionBias))
                        .outputProjectionBias(fields.optionalBoolean("o_proj_bias").orElse(false))
                        .qkNorm(fields.optionalBoolean("qk_norm").orElse(false))
                        .gateLowRankDimension(fields.optionalInt("gate_low_rank_dim").orElse(ModelConfig.DEFAULT_GATE_LOW_RANK_DIMENSION))
                        .gateLogitNormalizer(fields.optionalInt("gate_logit_normalizer").orElse(ModelConfig.DEFAULT_GATE_LOGIT_NORMALIZER));
                fields.optionalObject("spikeconv").flatMap(spikeconv -> spikeconv.optionalObject("spike"))
                        .ifPresent(spike -> builder.spike(spikeSettings(spike)));
            }
        }
        tokenId(fields, "bos_token_id").ifPresent(builder::bosTokenId);
        tokenId(fields, "eos_token_id").ifPresent(builder::eosTokenId);
        int group = fields.optionalObject("spikeconv")
                .flatMap(spikeconv -> spikeconv.optionalObject("quantization"))
                .map(quantization -> quantization.optionalInt("group").orElse(0))
                .orElse(0);
        if (group < 0) {
            throw InvalidInputException.forField(file, "spikeconv.quantization.group", "a non-negative integer", group);
        }
        return new HfConfig(builder.build(file), group);
    }

    /** {@code spikeconv.spike: {mode, k, T, coding, exclude}} of a bundle. */
    private static SpikeSettings spikeSettings(JsonFields spike) {
        Path file = spike.file();
        String modeName = spike.optionalString("mode").orElse("off");
        SpikeSettings.Mode mode = switch (modeName) {
            case "off" -> SpikeSettings.Mode.OFF;
            case "dynamic" -> SpikeSettings.Mode.DYNAMIC;
            case "static" -> SpikeSettings.Mode.STATIC;
            default -> throw InvalidInputException.forField(file, spike.fieldPath("mode"), "off, dynamic or static", modeName);
        };
        String codingName = spike.optionalString("coding").orElse("ternary");
        SpikeSettings.Coding coding = switch (codingName) {
            case "binary" -> SpikeSettings.Coding.BINARY;
            case "ternary" -> SpikeSettings.Coding.TERNARY;
            case "bitwise" -> SpikeSettings.Coding.BITWISE;
            default -> throw InvalidInputException.forField(file, spike.fieldPath("coding"), "binary, ternary or bitwise", codingName);
        };
        List<String> exclude = new ArrayList<>();
        if (spike.has("exclude")) {
            for (JsonNode site : spike.requireArray("exclude")) {
                if (!site.isTextual()) {
                    throw InvalidInputException.forField(file, spike.fieldPath("exclude"), "site suffixes as strings", JsonFields.describe(site));
                }
                exclude.add(site.textValue());
            }
        }
        double k = spike.optionalDouble("k").orElse(3);
        int timeSteps = spike.optionalInt("T").orElse(SpikeSettings.MAX_TIME_STEPS);
        try {
            return new SpikeSettings(mode, k, timeSteps, coding, exclude);
        }
        catch (IllegalArgumentException e) {
            throw InvalidInputException.forField(file, spike.fieldPath("k/T"), "k > 0 and 1 <= T <= " + SpikeSettings.MAX_TIME_STEPS, "k=" + k + ", T=" + timeSteps);
        }
    }

    /** transformers 5 moved rope_theta into rope_parameters. */
    private static double ropeTheta(JsonFields fields) {
        if (fields.has("rope_theta")) {
            return fields.requireDouble("rope_theta");
        }
        return fields.optionalObject("rope_parameters").map(parameters -> parameters.optionalDouble("rope_theta").orElse(10000)).orElse(10000.0);
    }

    private static RopeScaling ropeScaling(JsonFields fields) {
        JsonFields scaling = fields.optionalObject("rope_scaling").or(() -> fields.optionalObject("rope_parameters")).orElse(null);
        if (scaling == null) {
            return RopeScaling.NONE;
        }
        String type = scaling.optionalString("rope_type").or(() -> scaling.optionalString("type")).orElse("default");
        return switch (type) {
            case "default" -> RopeScaling.NONE;
            case "linear" -> RopeScaling.linear(scaling.requireDouble("factor"));
            case "llama3" -> RopeScaling.llama3(scaling.requireDouble("factor"), scaling.requireDouble("low_freq_factor"),
                    scaling.requireDouble("high_freq_factor"), scaling.requireInt("original_max_position_embeddings"));
            default -> throw InvalidInputException.forField(fields.file(), scaling.fieldPath("rope_type"), "default, linear or llama3", type);
        };
    }

    private static OptionalInt tokenId(JsonFields fields, String field) {
        if (!fields.has(field)) {
            return OptionalInt.empty();
        }
        JsonNode value = fields.require(field);
        if (value.isArray()) {
            // Llama 3 lists several end tokens; the first is the one a generator stops on by default.
            return value.isEmpty() ? OptionalInt.empty() : OptionalInt.of(fields.toInt(value.get(0), field + "[0]"));
        }
        return OptionalInt.of(fields.requireInt(field));
    }

    private static List<LayerAttention> layers(JsonFields fields, Architecture architecture, int layerCount) {
        Path file = fields.file();
        List<LayerAttention> layers = new ArrayList<>();
        switch (architecture) {
            case LLAMA -> {
                for (int i = 0; i < layerCount; i++) {
                    layers.add(LayerAttention.softmax());
                }
            }
            case MISTRAL -> {
                OptionalInt window = fields.optionalInt("sliding_window");
                for (int i = 0; i < layerCount; i++) {
                    layers.add(window.isPresent() ? LayerAttention.slidingWindow(positive(window.getAsInt(), file, "sliding_window"), 0) : LayerAttention.softmax());
                }
            }
            case QWEN2, QWEN3 -> {
                boolean sliding = fields.optionalBoolean("use_sliding_window").orElse(false) && fields.has("sliding_window");
                int window = sliding ? positive(fields.requireInt("sliding_window"), file, "sliding_window") : 0;
                if (fields.has("layer_types")) {
                    JsonNode types = fields.requireArray("layer_types");
                    checkCount(types.size(), layerCount, file, "layer_types");
                    for (int i = 0; i < layerCount; i++) {
                        String type = types.get(i).asText();
                        switch (type) {
                            case "full_attention" -> layers.add(LayerAttention.softmax());
                            case "sliding_attention" -> layers.add(LayerAttention.slidingWindow(
                                    positive(fields.optionalInt("sliding_window").orElse(0), file, "sliding_window"), 0));
                            default -> throw InvalidInputException.forField(file, "layer_types[" + i + "]", "full_attention or sliding_attention", type);
                        }
                    }
                }
                else {
                    int firstSliding = fields.optionalInt("max_window_layers").orElse(layerCount);
                    for (int i = 0; i < layerCount; i++) {
                        layers.add(sliding && i >= firstSliding ? LayerAttention.slidingWindow(window, 0) : LayerAttention.softmax());
                    }
                }
            }
            case GLA_SWA -> layers.addAll(glaSwaLayers(fields, layerCount));
        }
        return layers;
    }

    /** {@code spikeconv.layers} is authoritative; SpikingBrain's own configs only have {@code attn_layers} and {@code sliding_window}. */
    private static List<LayerAttention> glaSwaLayers(JsonFields fields, int layerCount) {
        Path file = fields.file();
        List<LayerAttention> layers = new ArrayList<>();
        var spikeconvLayers = fields.optionalObject("spikeconv").filter(spikeconv -> spikeconv.has("layers"));
        if (spikeconvLayers.isPresent()) {
            JsonFields spikeconv = spikeconvLayers.get();
            JsonNode entries = spikeconv.requireArray("layers");
            checkCount(entries.size(), layerCount, file, "spikeconv.layers");
            for (int i = 0; i < layerCount; i++) {
                JsonFields entry = JsonFields.of(file, entries.get(i), "spikeconv.layers[" + i + "]");
                if (entry.requireInt("index") != i) {
                    throw InvalidInputException.forField(file, entry.fieldPath("index"), String.valueOf(i), entry.requireInt("index"));
                }
                String kind = entry.requireString("attention");
                AttentionKind attention;
                try {
                    attention = AttentionKind.fromId(kind);
                }
                catch (IllegalArgumentException e) {
                    throw InvalidInputException.forField(file, entry.fieldPath("attention"),
                            "one of " + Arrays.stream(AttentionKind.values()).map(AttentionKind::id).toList(), kind);
                }
                if (!attention.windowed()) {
                    layers.add(new LayerAttention(attention, 0, 0));
                    continue;
                }
                int window = positive(entry.requireInt("window"), file, entry.fieldPath("window"));
                int sinks = entry.optionalInt("sinks").orElse(0);
                if (sinks < 0) {
                    throw InvalidInputException.forField(file, entry.fieldPath("sinks"), "a non-negative integer", sinks);
                }
                layers.add(new LayerAttention(attention, window, sinks));
            }
            return layers;
        }
        Set<Integer> softmaxLayers = new HashSet<>();
        if (fields.has("attn_layers")) {
            for (JsonNode index : fields.requireArray("attn_layers")) {
                int layer = fields.toInt(index, "attn_layers");
                if (layer < 0 || layer >= layerCount) {
                    throw InvalidInputException.forField(file, "attn_layers", "layer indexes below " + layerCount, layer);
                }
                softmaxLayers.add(layer);
            }
        }
        OptionalInt window = fields.optionalInt("sliding_window");
        for (int i = 0; i < layerCount; i++) {
            if (!softmaxLayers.contains(i)) {
                layers.add(LayerAttention.gatedLinear());
            }
            else if (window.isPresent()) {
                layers.add(LayerAttention.slidingWindow(positive(window.getAsInt(), file, "sliding_window"), 0));
            }
            else {
                layers.add(LayerAttention.softmax());
            }
        }
        return layers;
    }

    private static void checkCount(int count, int layerCount, Path file, String field) {
        if (count != layerCount) {
            throw InvalidInputException.forField(file, field, layerCount + " entries (num_hidden_layers)", count);
        }
    }

    private static int positive(int value, Path file, String field) {
        if (value <= 0) {
            throw InvalidInputException.forField(file, field, "a positive integer", value);
        }
        return value;
    }
}
