package dev.spikeconv.formats.model;

import dev.spikeconv.formats.tensor.Shape;
import java.util.LinkedHashMap;
import java.util.SequencedMap;

/** Canonical tensor names (Hugging Face Llama naming) that every reader maps its own names onto. */
public final class TensorNames {
    public static final String EMBEDDING = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private TensorNames() {}

    public static String layerPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    /** Every tensor {@code config} requires, with its shape, in canonical order (embedding, layers, norm, head). */
    public static SequencedMap<String, Shape> expected(ModelConfig config) {
        SequencedMap<String, Shape> expected = new LinkedHashMap<>();
        Shape vocabularyMatrix = Shape.of(config.vocabularySize(), config.hiddenSize());
        expected.put(EMBEDDING, vocabularyMatrix);
        for (int layer = 0; layer < config.layerCount(); layer++) {
            AttentionKind attention = config.layer(layer).kind();
            for (LayerTensor tensor : LayerTensor.values()) {
                if (tensor.isPresent(config, attention)) {
                    expected.put(tensor.name(layer), tensor.shape(config, attention));
                }
            }
        }
        expected.put(FINAL_NORM, Shape.of(config.hiddenSize()));
        if (!config.tiedEmbeddings()) {
            expected.put(LM_HEAD, vocabularyMatrix);
        }
        return expected;
    }
}
