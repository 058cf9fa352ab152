package dev.spikeconv.formats.gguf;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.CheckpointFormat;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.RopeScaling;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.tensor.RowPermutedTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a GGUF file into the normalized model description: {@code <arch>.*} keys become the config,
 * GGUF tensor names become canonical names, and for the {@code llama} architecture the q/k rows are
 * put back from GGUF's interleaved-pair RoPE order into the rotate-half order of Hugging Face.
 */
public final class GgufModelLoader {
    private static final Pattern LAYER_TENSOR = Pattern.compile("blk\\.(\\d+)\\.(.+)");
    private static final Map<String, LayerTensor> LAYER_NAMES = Map.ofEntries(
            Map.entry("attn_norm.weight", LayerTensor.ATTENTION_NORM),
            Map.entry("attn_q.weight", LayerTensor.QUERY_WEIGHT),
            Map.entry("attn_q.bias", LayerTensor.QUERY_BIAS),
            Map.entry("attn_k.weight", LayerTensor.KEY_WEIGHT),
            Map.entry("attn_k.bias", LayerTensor.KEY_BIAS),
            Map.entry("attn_v.weight", LayerTensor.VALUE_WEIGHT),
            Map.entry("attn_v.bias", LayerTensor.VALUE_BIAS),
            Map.entry("attn_output.weight", LayerTensor.OUTPUT_WEIGHT),
            Map.entry("attn_output.bias", LayerTensor.OUTPUT_BIAS),
            Map.entry("attn_q_norm.weight", LayerTensor.QUERY_NORM),
            Map.entry("attn_k_norm.weight", LayerTensor.KEY_NORM),
            Map.entry("ffn_norm.weight", LayerTensor.MLP_NORM),
            Map.entry("ffn_gate.weight", LayerTensor.MLP_GATE_WEIGHT),
            Map.entry("ffn_gate.bias", LayerTensor.MLP_GATE_BIAS),
            Map.entry("ffn_up.weight", LayerTensor.MLP_UP_WEIGHT),
            Map.entry("ffn_up.bias", LayerTensor.MLP_UP_BIAS),
            Map.entry("ffn_down.weight", LayerTensor.MLP_DOWN_WEIGHT),
            Map.entry("ffn_down.bias", LayerTensor.MLP_DOWN_BIAS));

    private GgufModelLoader() {}

    public static ModelDescription load(Path path) throws IOException {
        GgufFile gguf = GgufFile.open(path);
        ModelConfig config;
        Map<String, TensorView> tensors;
        try {
            config = config(gguf);
            tensors = canonicalTensors(gguf, config);
        }
        catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
        return ModelDescription.assemble(CheckpointFormat.GGUF, config, tensors, List.of(path), List.of(gguf), path); // closes on failure
    }

    static ModelConfig config(GgufFile gguf) {
        Path path = gguf.path();
        String architectureName = gguf.requireString("general.architecture");
        Architecture architecture = switch (architectureName) {
            case "llama" -> Architecture.LLAMA;
            case "qwen2" -> Architecture.QWEN2;
            case "qwen3" -> Architecture.QWEN3;
            default -> throw InvalidInputException.forField(path, "general.architecture", "llama, qwen2 or qwen3", architectureName);
        };
        String prefix = architectureName + ".";
        Map<String, TensorView> tensors = gguf.tensors();
        int hidden = gguf.requireInt(prefix + "embedding_length");
        int heads = gguf.requireInt(prefix + "attention.head_count");
        int keyValueHeads = gguf.optionalInt(prefix + "attention.head_count_kv").orElse(heads);
        int headDimension = gguf.optionalInt(prefix + "attention.key_length").orElse(heads > 0 ? hidden / heads : 0);
        int valueLength = gguf.optionalInt(prefix + "attention.value_length").orElse(headDimension);
        if (valueLength != headDimension) {
            throw InvalidInputException.forField(path, prefix + "attention.value_length", "equal to key_length " + headDimension, valueLength);
        }
        int rotaryDimension = gguf.optionalInt(prefix + "rope.dimension_count").orElse(headDimension);
        if (rotaryDimension != headDimension) {
            throw InvalidInputException.forField(path, prefix + "rope.dimension_count", "the head dimension " + headDimension + " (partial rotary is not supported)", rotaryDimension);
        }
        if (tensors.containsKey("rope_freqs.weight")) {
            throw InvalidInputException.forFile(path, "rope_freqs.weight (Llama 3.1 frequency factors) is not supported yet; convert from the Hugging Face checkpoint instead");
        }
        TensorView embedding = tensors.get("token_embd.weight");
        int vocabulary = gguf.optionalInt(prefix + "vocab_size")
                .orElseGet(() -> gguf.optionalArray("tokenizer.ggml.tokens").map(GgufArray::length)
                        .orElseGet(() -> embedding == null ? 0 : (int) Math.min(Integer.MAX_VALUE, embedding.shape().dimension(0))));
        ModelConfig.Builder builder = ModelConfig.builder(architecture)
                .vocabularySize(vocabulary)
                .hiddenSize(hidden)
                .intermediateSize(gguf.requireInt(prefix + "feed_forward_length"))
                .headCount(heads)
                .keyValueHeadCount(keyValueHeads)
                .headDimension(headDimension)
                .normEpsilon(gguf.requireNumber(prefix + "attention.layer_norm_rms_epsilon"))
                .ropeTheta(gguf.has(prefix + "rope.freq_base") ? gguf.requireNumber(prefix + "rope.freq_base") : 10000)
                .ropeScaling(ropeScaling(gguf, prefix))
                .maxPositions(gguf.optionalInt(prefix + "context_length").orElse(0))
                .qkvBias(tensors.containsKey("blk.0.attn_q.bias"))
                .outputProjectionBias(tensors.containsKey("blk.0.attn_output.bias"))
                .mlpBias(tensors.containsKey("blk.0.ffn_up.bias"))
                .qkNorm(tensors.containsKey("blk.0.attn_q_norm.weight"))
                .tiedEmbeddings(!tensors.containsKey("output.weight"))
                .softmaxLayers(checkedLayerCount(gguf, prefix + "block_count"));
        gguf.optionalInt("tokenizer.ggml.bos_token_id").ifPresent(builder::bosTokenId);
        gguf.optionalInt("tokenizer.ggml.eos_token_id").ifPresent(builder::eosTokenId);
        return builder.build(path);
    }

    private static int checkedLayerCount(GgufFile gguf, String key) {
        int count = gguf.requireInt(key);
        if (count <= 0 || count > 4096) {
            throw InvalidInputException.forField(gguf.path(), key, "an integer in [1, 4096]", count);
        }
        return count;
    }

    private static RopeScaling ropeScaling(GgufFile gguf, String prefix) {
        String type = gguf.optionalString(prefix + "rope.scaling.type").orElse("none");
        return switch (type) {
            case "none" -> RopeScaling.NONE;
            case "linear" -> RopeScaling.linear(gguf.requireNumber(prefix + "rope.scaling.factor"));
            default -> throw InvalidInputException.forField(gguf.path(), prefix + "rope.scaling.type", "none or linear", type);
        };
    }

    private static Map<String, TensorView> canonicalTensors(GgufFile gguf, ModelConfig config) {
        boolean interleavedRope = config.architecture() == Architecture.LLAMA;
        int[] queryRows = RowPermutedTensor.interleavedToRotateHalf(config.headCount(), config.headDimension());
        int[] keyRows = RowPermutedTensor.interleavedToRotateHalf(config.keyValueHeadCount(), config.headDimension());
        Map<String, TensorView> canonical = new LinkedHashMap<>();
        for (Map.Entry<String, TensorView> entry : gguf.tensors().entrySet()) {
            String name = entry.getKey();
            TensorView tensor = entry.getValue();
            String canonicalName = switch (name) {
                case "token_embd.weight" -> TensorNames.EMBEDDING;
                case "output_norm.weight" -> TensorNames.FINAL_NORM;
                case "output.weight" -> TensorNames.LM_HEAD;
                default -> null;
            };
            Matcher layer = LAYER_TENSOR.matcher(name);
            if (canonicalName == null && layer.matches() && LAYER_NAMES.containsKey(layer.group(2)) && layer.group(1).length() < 6) {
                LayerTensor layerTensor = LAYER_NAMES.get(layer.group(2));
                canonicalName = layerTensor.name(Integer.parseInt(layer.group(1)));
                if (interleavedRope && (layerTensor == LayerTensor.QUERY_WEIGHT || layerTensor == LayerTensor.QUERY_BIAS)) {
                    tensor = permuted(tensor, queryRows);
                }
                else if (interleavedRope && (layerTensor == LayerTensor.KEY_WEIGHT || layerTensor == LayerTensor.KEY_BIAS)) {
                    tensor = permuted(tensor, keyRows);
                }
            }
            canonical.put(canonicalName == null ? name : canonicalName, tensor);
        }
        return canonical;
    }

    /** Only a tensor of the expected height is permuted; a wrong one is left for the shape check to report. */
    private static TensorView permuted(TensorView tensor, int[] rows) {
        return tensor.shape().rank() >= 1 && tensor.shape().dimension(0) == rows.length ? new RowPermutedTensor(tensor, rows) : tensor;
    }
}
