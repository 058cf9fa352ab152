package dev.spikeconv.formats.testing;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.RowPermutedTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes a {@link TinyModel} as a Hugging Face folder (safetensors or PyTorch, optionally sharded). */
public final class CheckpointWriters {
    private CheckpointWriters() {}

    /** {@code config.json} as transformers writes it for the model's family. */
    public static ObjectNode hfConfig(ModelConfig config) {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        String type = config.architecture().id();
        json.putArray("architectures").add(switch (config.architecture()) {
            case LLAMA -> "LlamaForCausalLM";
            case MISTRAL -> "MistralForCausalLM";
            case QWEN2 -> "Qwen2ForCausalLM";
            case QWEN3 -> "Qwen3ForCausalLM";
            case GLA_SWA -> "GLAswaForCausalLM";
        });
        json.put("model_type", type);
        json.put("vocab_size", config.vocabularySize());
        json.put("hidden_size", config.hiddenSize());
        json.put("intermediate_size", config.intermediateSize());
        json.put("num_hidden_layers", config.layerCount());
        json.put("num_attention_heads", config.headCount());
        json.put("num_key_value_heads", config.keyValueHeadCount());
        json.put("head_dim", config.headDimension());
        json.put("rms_norm_eps", config.normEpsilon());
        json.put("rope_theta", config.ropeTheta());
        json.put("max_position_embeddings", config.maxPositions());
        json.put("tie_word_embeddings", config.tiedEmbeddings());
        json.put("hidden_act", "silu");
        json.put("torch_dtype", "float32");
        config.bosTokenId().ifPresent(id -> json.put("bos_token_id", id));
        config.eosTokenId().ifPresent(id -> json.put("eos_token_id", id));
        if (config.architecture() == Architecture.LLAMA || config.architecture() == Architecture.QWEN3) {
            json.put("attention_bias", config.qkvBias());
        }
        if (config.architecture() == Architecture.MISTRAL) {
            if (config.layer(0).kind() == AttentionKind.SLIDING_WINDOW) {
                json.put("sliding_window", config.layer(0).window());
            }
            else {
                json.putNull("sliding_window");
            }
        }
        return json;
    }

    public static void writeHfConfig(ModelConfig config, Path directory) throws IOException {
        Files.createDirectories(directory);
        Files.writeString(directory.resolve("config.json"), JsonDocuments.writer().writeValueAsString(hfConfig(config)));
    }

    /** A safetensors folder; with {@code shards > 1}, {@code model-0000i-of-0000n.safetensors} and an index. */
    public static Path writeSafetensors(TinyModel model, Path directory, DType dtype, int shards) throws IOException {
        writeHfConfig(model.config(), directory);
        List<List<String>> groups = split(new ArrayList<>(model.tensors().keySet()), shards);
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int shard = 0; shard < groups.size(); shard++) {
            String file = shards == 1 ? "model.safetensors" : String.format("model-%05d-of-%05d.safetensors", shard + 1, shards);
            List<SafetensorsWriter.TensorEntry> entries = new ArrayList<>();
            for (String name : groups.get(shard)) {
                entries.add(new SafetensorsWriter.TensorEntry(name, dtype, model.shape(name)));
                weightMap.put(name, file);
            }
            SafetensorsWriter.write(directory.resolve(file), entries, Map.of("format", "pt"),
                    (entry, channel) -> SafetensorsWriter.writeFully(channel, ByteBuffer.wrap(TensorBytes.encode(model.tensors().get(entry.name()), dtype))));
        }
        if (shards > 1) {
            writeIndex(directory.resolve("model.safetensors.index.json"), weightMap);
        }
        return directory;
    }

    /** A PyTorch folder; a tied head is saved as a second view of the embedding's storage, as torch does. */
    public static Path writePytorch(TinyModel model, Path directory, DType dtype, int shards) throws IOException {
        writeHfConfig(model.config(), directory);
        List<List<String>> groups = split(new ArrayList<>(model.tensors().keySet()), shards);
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int shard = 0; shard < groups.size(); shard++) {
            String file = shards == 1 ? "pytorch_model.bin" : String.format("pytorch_model-%05d-of-%05d.bin", shard + 1, shards);
            TorchZipWriter writer = new TorchZipWriter();
            for (String name : groups.get(shard)) {
                writer.add(name, dtype, model.shape(name), TensorBytes.encode(model.tensors().get(name), dtype));
                weightMap.put(name, file);
                if (name.equals(TensorNames.EMBEDDING) && model.config().tiedEmbeddings()) {
                    writer.addView(new TorchZipWriter.Tensor(TensorNames.LM_HEAD, dtype, model.shape(name), "0", 0));
                    weightMap.put(TensorNames.LM_HEAD, file);
                }
            }
            writer.write(directory.resolve(file));
        }
        if (shards > 1) {
            writeIndex(directory.resolve("pytorch_model.bin.index.json"), weightMap);
        }
        return directory;
    }

    private static void writeIndex(Path file, Map<String, String> weightMap) throws IOException {
        ObjectNode index = JsonNodeFactory.instance.objectNode();
        index.putObject("metadata").put("total_size", 0);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        Files.writeString(file, JsonDocuments.writer().writeValueAsString(index));
    }

    private static List<List<String>> split(List<String> names, int parts) {
        List<List<String>> groups = new ArrayList<>();
        int perPart = (names.size() + parts - 1) / parts;
        for (int start = 0; start < names.size(); start += perPart) {
            groups.add(names.subList(start, Math.min(names.size(), start + perPart)));
        }
        return groups;
    }

    /** Rows of a q/k projection in the interleaved-pair order of GGUF llama and llama2.c. */
    public static float[] toInterleavedRope(float[] rotateHalf, int heads, int headDimension) {
        int[] sourceRows = RowPermutedTensor.interleavedToRotateHalf(heads, headDimension);
        int rowLength = rotateHalf.length / sourceRows.length;
        float[] interleaved = new float[rotateHalf.length];
        for (int row = 0; row < sourceRows.length; row++) {
            System.arraycopy(rotateHalf, row * rowLength, interleaved, sourceRows[row] * rowLength, rowLength);
        }
        return interleaved;
    }

    /** The tensor as a file with interleaved RoPE stores it: q/k rows permuted, everything else as is. */
    public static float[] interleavedIfQueryOrKey(TinyModel model, String name) {
        ModelConfig config = model.config();
        float[] values = model.tensors().get(name);
        for (int layer = 0; layer < config.layerCount(); layer++) {
            if (name.equals(LayerTensor.QUERY_WEIGHT.name(layer)) || name.equals(LayerTensor.QUERY_BIAS.name(layer))) {
                return toInterleavedRope(values, config.headCount(), config.headDimension());
            }
            if (name.equals(LayerTensor.KEY_WEIGHT.name(layer)) || name.equals(LayerTensor.KEY_BIAS.name(layer))) {
                return toInterleavedRope(values, config.keyValueHeadCount(), config.headDimension());
            }
        }
        return values;
    }
}
