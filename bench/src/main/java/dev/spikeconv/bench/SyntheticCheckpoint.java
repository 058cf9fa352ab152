package dev.spikeconv.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.safetensors.SafetensorsWriter.TensorEntry;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.FloatEncodings;
import dev.spikeconv.formats.tensor.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a random Llama checkpoint as a Hugging Face folder (config.json, model.safetensors), streamed
 * so that a checkpoint larger than the heap can be made; the same seed gives the same bytes.
 */
public final class SyntheticCheckpoint {
    /** Standard deviation of projection weights: small enough that activations stay in range through many layers. */
    private static final double WEIGHT_DEVIATION = 0.02;
    private static final int BUFFER_BYTES = 1 << 20;

    /** The shape of a Llama decoder. */
    public record Dimensions(int hiddenSize, int intermediateSize, int layers, int heads, int keyValueHeads, int vocabularySize) {
        public Dimensions {
            if (hiddenSize < 1 || intermediateSize < 1 || layers < 1 || heads < 1 || keyValueHeads < 1 || vocabularySize < 2) {
                throw new IllegalArgumentException("model dimensions must be positive");
            }
            if (hiddenSize % heads != 0 || heads % keyValueHeads != 0 || (hiddenSize / heads) % 2 != 0) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "hidden size %d must split into %d heads of even size, and the heads into %d key-value groups", hiddenSize, heads, keyValueHeads));
            }
        }

        public int headDimension() {
            return hiddenSize / heads;
        }

        /** Every weight, embeddings and untied head included. */
        public long parameterCount() {
            long keyValue = (long) keyValueHeads * headDimension();
            long perLayer = 2L * hiddenSize * hiddenSize + 2L * hiddenSize * keyValue + 3L * hiddenSize * intermediateSize + 2L * hiddenSize;
            return layers * perLayer + 2L * vocabularySize * hiddenSize + hiddenSize;
        }

        /** The same width with as many layers as fit {@code bytes} of {@code dtype} (at least one). */
        public Dimensions withLayersForBytes(long bytes, DType dtype) {
            Dimensions one = new Dimensions(hiddenSize, intermediateSize, 1, heads, keyValueHeads, vocabularySize);
            Dimensions two = new Dimensions(hiddenSize, intermediateSize, 2, heads, keyValueHeads, vocabularySize);
            long perLayer = dtype.byteSize(two.parameterCount() - one.parameterCount());
            long fixed = dtype.byteSize(one.parameterCount()) - perLayer;
            int count = (int) Math.max(1, Math.min(100_000, (bytes - fixed + perLayer / 2) / perLayer));
            return new Dimensions(hiddenSize, intermediateSize, count, heads, keyValueHeads, vocabularySize);
        }
    }

    private SyntheticCheckpoint() {}

    /** Creates {@code folder} (which must not exist) holding the checkpoint; returns the bytes of tensor data written. */
    public static long write(Path folder, Dimensions dimensions, DType dtype, long seed) throws IOException {
        if (dtype != DType.BF16 && dtype != DType.F16 && dtype != DType.F32) {
            throw new IllegalArgumentException("synthetic checkpoints are bf16, f16 or f32, not " + dtype);
        }
        Files.createDirectory(folder);
        Files.writeString(folder.resolve("config.json"), JsonDocuments.writer().writeValueAsString(config(dimensions, dtype)));
        List<TensorEntry> entries = entries(dimensions, dtype);
        SplittableRandom random = new SplittableRandom(seed);
        SafetensorsWriter.write(folder.resolve("model.safetensors"), entries, Map.of("format", "pt"),
                (entry, channel) -> writeValues(entry, channel, random.split()));
        writeTokenizer(folder.resolve("tokenizer.bin"), dimensions.vocabularySize());
        return entries.stream().mapToLong(TensorEntry::byteSize).sum();
    }

    /**
     * A llama2.c {@code tokenizer.bin} with the model's vocabulary, so that text commands (generate) run on the
     * checkpoint: {@code <unk> <s> </s>}, the 256 byte tokens, then made-up pieces {@code ▁t<i>}. Its text means
     * nothing, like the weights.
     */
    private static void writeTokenizer(Path file, int vocabularySize) throws IOException {
        List<byte[]> pieces = new ArrayList<>();
        for (String special : new String[] {"<unk>", "<s>", "</s>"}) {
            pieces.add(special.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        for (int value = 0; value < 256 && pieces.size() < vocabularySize; value++) {
            pieces.add(String.format(Locale.ROOT, "<0x%02X>", value).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        while (pieces.size() < vocabularySize) {
            pieces.add(("\u2581t" + pieces.size()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        int longest = pieces.stream().mapToInt(piece -> piece.length).max().orElse(1);
        ByteBuffer bytes = ByteBuffer.allocate(4 + pieces.stream().mapToInt(piece -> 8 + piece.length).sum()).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putInt(longest);
        for (int i = 0; i < pieces.size(); i++) {
            bytes.putFloat(i < 259 ? 0 : -i).putInt(pieces.get(i).length).put(pieces.get(i));
        }
        Files.write(file, bytes.array());
    }

    private static ObjectNode config(Dimensions dimensions, DType dtype) {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.putArray("architectures").add("LlamaForCausalLM");
        json.put("model_type", "llama");
        json.put("vocab_size", dimensions.vocabularySize());
        json.put("hidden_size", dimensions.hiddenSize());
        json.put("intermediate_size", dimensions.intermediateSize());
        json.put("num_hidden_layers", dimensions.layers());
        json.put("num_attention_heads", dimensions.heads());
        json.put("num_key_value_heads", dimensions.keyValueHeads());
        json.put("rms_norm_eps", 1e-5);
        json.put("rope_theta", 10000.0);
        json.put("max_position_embeddings", 131072);
        json.put("tie_word_embeddings", false);
        json.put("hidden_act", "silu");
        json.put("torch_dtype", switch (dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        });
        return json;
    }

    private static List<TensorEntry> entries(Dimensions dimensions, DType dtype) {
        int hidden = dimensions.hiddenSize();
        int keyValue = dimensions.keyValueHeads() * dimensions.headDimension();
        int intermediate = dimensions.intermediateSize();
        List<TensorEntry> entries = new ArrayList<>();
        entries.add(new TensorEntry("model.embed_tokens.weight", dtype, Shape.of(dimensions.vocabularySize(), hidden)));
        for (int layer = 0; layer < dimensions.layers(); layer++) {
            String prefix = "model.layers." + layer + ".";
            entries.add(new TensorEntry(prefix + "input_layernorm.weight", dtype, Shape.of(hidden)));
            entries.add(new TensorEntry(prefix + "self_attn.q_proj.weight", dtype, Shape.of(hidden, hidden)));
            entries.add(new TensorEntry(prefix + "self_attn.k_proj.weight", dtype, Shape.of(keyValue, hidden)));
            entries.add(new TensorEntry(prefix + "self_attn.v_proj.weight", dtype, Shape.of(keyValue, hidden)));
            entries.add(new TensorEntry(prefix + "self_attn.o_proj.weight", dtype, Shape.of(hidden, hidden)));
            entries.add(new TensorEntry(prefix + "post_attention_layernorm.weight", dtype, Shape.of(hidden)));
            entries.add(new TensorEntry(prefix + "mlp.gate_proj.weight", dtype, Shape.of(intermediate, hidden)));
            entries.add(new TensorEntry(prefix + "mlp.up_proj.weight", dtype, Shape.of(intermediate, hidden)));
            entries.add(new TensorEntry(prefix + "mlp.down_proj.weight", dtype, Shape.of(hidden, intermediate)));
        }
        entries.add(new TensorEntry("model.norm.weight", dtype, Shape.of(hidden)));
        entries.add(new TensorEntry("lm_head.weight", dtype, Shape.of(dimensions.vocabularySize(), hidden)));
        return entries;
    }

    /** Norm weights near 1, everything else uniform with {@link #WEIGHT_DEVIATION} (embeddings too: they only need to be distinct). */
    private static void writeValues(TensorEntry entry, WritableByteChannel channel, SplittableRandom random) throws IOException {
        boolean norm = entry.shape().rank() == 1;
        double halfWidth = norm ? 0.1 : WEIGHT_DEVIATION * Math.sqrt(3);
        double center = norm ? 1.0 : 0.0;
        int elementBytes = (int) entry.dtype().byteSize(1);
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (long remaining = entry.shape().elementCount(); remaining > 0; ) {
            int count = (int) Math.min(remaining, BUFFER_BYTES / elementBytes);
            buffer.clear();
            for (int i = 0; i < count; i++) {
                float value = (float) (center + halfWidth * (2 * random.nextDouble() - 1));
                FloatEncodings.put(buffer, entry.dtype(), value);
            }
            SafetensorsWriter.writeFully(channel, buffer.flip());
            remaining -= count;
        }
    }
}
