package dev.spikeconv.formats.testing;

import dev.spikeconv.formats.gguf.GgmlTypes;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF v3 files: metadata of the common scalar and array types, and tensors in GGML dimension
 * order. {@link #model} writes a {@link TinyModel} the way llama.cpp's converter would.
 */
public final class GgufTestWriter {
    private static final int ALIGNMENT = 32;

    private final ByteArrayOutputStream metadata = new ByteArrayOutputStream();
    private int metadataCount;
    private final List<TensorData> tensors = new ArrayList<>();

    private record TensorData(String name, DType type, Shape shape, byte[] data) {}

    public GgufTestWriter string(String key, String value) {
        key(key, 8);
        writeString(metadata, value);
        return this;
    }

    public GgufTestWriter uint32(String key, long value) {
        key(key, 4);
        metadata.writeBytes(le(4).putInt((int) value).array());
        return this;
    }

    public GgufTestWriter float32(String key, float value) {
        key(key, 6);
        metadata.writeBytes(le(4).putFloat(value).array());
        return this;
    }

    public GgufTestWriter stringArray(String key, List<String> values) {
        key(key, 9);
        metadata.writeBytes(le(12).putInt(8).putLong(values.size()).array());
        values.forEach(value -> writeString(metadata, value));
        return this;
    }

    public GgufTestWriter float32Array(String key, float[] values) {
        key(key, 9);
        metadata.writeBytes(le(12).putInt(6).putLong(values.length).array());
        for (float value : values) {
            metadata.writeBytes(le(4).putFloat(value).array());
        }
        return this;
    }

    public GgufTestWriter int32Array(String key, int[] values) {
        key(key, 9);
        metadata.writeBytes(le(12).putInt(5).putLong(values.length).array());
        for (int value : values) {
            metadata.writeBytes(le(4).putInt(value).array());
        }
        return this;
    }

    /** A tensor with a row-major shape; {@code data} already encoded in {@code type}. */
    public GgufTestWriter tensor(String name, DType type, Shape shape, byte[] data) {
        tensors.add(new TensorData(name, type, shape, data));
        return this;
    }

    public byte[] toByteArray() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(le(24).putInt(0x46554747).putInt(3).putLong(tensors.size()).putLong(metadataCount).array());
        out.writeBytes(metadata.toByteArray());
        long offset = 0;
        for (TensorData tensor : tensors) {
            writeString(out, tensor.name());
            long[] dimensions = tensor.shape().dimensions();
            out.writeBytes(le(4).putInt(dimensions.length).array());
            for (int i = dimensions.length - 1; i >= 0; i--) {
                out.writeBytes(le(8).putLong(dimensions[i]).array());
            }
            out.writeBytes(le(12).putInt(GgmlTypes.id(tensor.type())).putLong(offset).array());
            offset = align(offset + tensor.data().length);
        }
        pad(out);
        for (TensorData tensor : tensors) {
            out.writeBytes(tensor.data());
            pad(out);
        }
        return out.toByteArray();
    }

    public Path write(Path file) throws IOException {
        Files.write(file, toByteArray());
        return file;
    }

    /** A model as llama.cpp converts it: arch keys, GGUF names, 1-d tensors in F32, q/k interleaved for llama. */
    public static Path model(TinyModel model, Path file, DType weightType) throws IOException {
        ModelConfig config = model.config();
        String architecture = switch (config.architecture()) {
            case LLAMA -> "llama";
            case QWEN2 -> "qwen2";
            case QWEN3 -> "qwen3";
            case MISTRAL, GLA_SWA -> throw new IllegalArgumentException("no GGUF architecture for " + config.architecture());
        };
        String prefix = architecture + ".";
        GgufTestWriter writer = new GgufTestWriter()
                .string("general.architecture", architecture)
                .string("general.name", model.name())
                .uint32(prefix + "context_length", config.maxPositions())
                .uint32(prefix + "embedding_length", config.hiddenSize())
                .uint32(prefix + "block_count", config.layerCount())
                .uint32(prefix + "feed_forward_length", config.intermediateSize())
                .uint32(prefix + "attention.head_count", config.headCount())
                .uint32(prefix + "attention.head_count_kv", config.keyValueHeadCount())
                .uint32(prefix + "attention.key_length", config.headDimension())
                .uint32(prefix + "attention.value_length", config.headDimension())
                .float32(prefix + "attention.layer_norm_rms_epsilon", (float) config.normEpsilon())
                .float32(prefix + "rope.freq_base", (float) config.ropeTheta());
        config.bosTokenId().ifPresent(id -> writer.uint32("tokenizer.ggml.bos_token_id", id));
        config.eosTokenId().ifPresent(id -> writer.uint32("tokenizer.ggml.eos_token_id", id));
        for (Map.Entry<String, String> names : ggufNames(config).entrySet()) {
            String canonical = names.getKey();
            float[] values = config.architecture() == Architecture.LLAMA
                    ? CheckpointWriters.interleavedIfQueryOrKey(model, canonical)
                    : model.tensors().get(canonical);
            Shape shape = model.shape(canonical);
            DType type = shape.rank() == 1 ? DType.F32 : weightType;
            writer.tensor(names.getValue(), type, shape, TensorBytes.encode(values, type));
        }
        return writer.write(file);
    }

    /** Canonical name to GGUF name for every tensor of {@code config}. */
    public static Map<String, String> ggufNames(ModelConfig config) {
        Map<LayerTensor, String> layerNames = Map.ofEntries(
                Map.entry(LayerTensor.ATTENTION_NORM, "attn_norm.weight"),
                Map.entry(LayerTensor.QUERY_WEIGHT, "attn_q.weight"),
                Map.entry(LayerTensor.QUERY_BIAS, "attn_q.bias"),
                Map.entry(LayerTensor.KEY_WEIGHT, "attn_k.weight"),
                Map.entry(LayerTensor.KEY_BIAS, "attn_k.bias"),
                Map.entry(LayerTensor.VALUE_WEIGHT, "attn_v.weight"),
                Map.entry(LayerTensor.VALUE_BIAS, "attn_v.bias"),
                Map.entry(LayerTensor.OUTPUT_WEIGHT, "attn_output.weight"),
                Map.entry(LayerTensor.QUERY_NORM, "attn_q_norm.weight"),
                Map.entry(LayerTensor.KEY_NORM, "attn_k_norm.weight"),
                Map.entry(LayerTensor.MLP_NORM, "ffn_norm.weight"),
                Map.entry(LayerTensor.MLP_GATE_WEIGHT, "ffn_gate.weight"),
                Map.entry(LayerTensor.MLP_UP_WEIGHT, "ffn_up.weight"),
                Map.entry(LayerTensor.MLP_DOWN_WEIGHT, "ffn_down.weight"));
        Map<String, String> names = new LinkedHashMap<>();
        names.put(TensorNames.EMBEDDING, "token_embd.weight");
        for (int layer = 0; layer < config.layerCount(); layer++) {
            for (LayerTensor tensor : LayerTensor.values()) {
                if (tensor.isPresent(config, config.layer(layer).kind())) {
                    String name = layerNames.get(tensor);
                    if (name == null) {
                        throw new IllegalArgumentException("no GGUF name for " + tensor);
                    }
                    names.put(tensor.name(layer), "blk." + layer + "." + name);
                }
            }
        }
        names.put(TensorNames.FINAL_NORM, "output_norm.weight");
        if (!config.tiedEmbeddings()) {
            names.put(TensorNames.LM_HEAD, "output.weight");
        }
        return names;
    }

    private void key(String key, int type) {
        writeString(metadata, key);
        metadata.writeBytes(le(4).putInt(type).array());
        metadataCount++;
    }

    private static void writeString(ByteArrayOutputStream out, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        out.writeBytes(le(8).putLong(bytes.length).array());
        out.writeBytes(bytes);
    }

    private static void pad(ByteArrayOutputStream out) {
        while (out.size() % ALIGNMENT != 0) {
            out.write(0);
        }
    }

    private static long align(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
