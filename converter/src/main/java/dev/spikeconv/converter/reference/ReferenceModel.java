package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.execution.InferenceEngine;
import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.converter.model.RotaryFrequencies;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.tensor.TensorView;

/**
 * The plain-Java forward pass of a dense decoder, written to read like the math: the oracle the ONNX
 * graph is tested against. Weights are loaded into float arrays once.
 */
public final class ReferenceModel implements InferenceEngine {
    private final ModelConfig config;
    private final float[] embedding;
    private final DecoderLayer[] layers;
    private final float[] finalNorm;
    private final float[] outputHead;
    private final float[] inverseFrequencies;

    private ReferenceModel(ModelConfig config, float[] embedding, DecoderLayer[] layers, float[] finalNorm, float[] outputHead) {
        this.config = config;
        this.embedding = embedding;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.outputHead = outputHead;
        this.inverseFrequencies = RotaryFrequencies.inverseFrequencies(config);
    }

    public static ReferenceModel load(ModelDescription model) {
        ModelConfig config = model.config();
        if (config.layers().stream().anyMatch(layer -> layer.kind() == AttentionKind.GATED_LINEAR)) {
            throw new UnsupportedOperationException("the reference engine does not run gated linear attention layers yet");
        }
        float[] embedding = model.tensor(TensorNames.EMBEDDING).toFloats();
        DecoderLayer[] layers = new DecoderLayer[config.layerCount()];
        for (int index = 0; index < layers.length; index++) {
            layers[index] = new DecoderLayer(
                    config.layer(index),
                    floats(model, LayerTensor.ATTENTION_NORM, index),
                    linear(model, LayerTensor.QUERY_WEIGHT, LayerTensor.QUERY_BIAS, index),
                    linear(model, LayerTensor.KEY_WEIGHT, LayerTensor.KEY_BIAS, index),
                    linear(model, LayerTensor.VALUE_WEIGHT, LayerTensor.VALUE_BIAS, index),
                    linear(model, LayerTensor.OUTPUT_WEIGHT, LayerTensor.OUTPUT_BIAS, index),
                    config.qkNorm() ? floats(model, LayerTensor.QUERY_NORM, index) : null,
                    config.qkNorm() ? floats(model, LayerTensor.KEY_NORM, index) : null,
                    floats(model, LayerTensor.MLP_NORM, index),
                    linear(model, LayerTensor.MLP_GATE_WEIGHT, LayerTensor.MLP_GATE_BIAS, index),
                    linear(model, LayerTensor.MLP_UP_WEIGHT, LayerTensor.MLP_UP_BIAS, index),
                    linear(model, LayerTensor.MLP_DOWN_WEIGHT, LayerTensor.MLP_DOWN_BIAS, index));
        }
        float[] outputHead = config.tiedEmbeddings() ? embedding : model.tensor(TensorNames.LM_HEAD).toFloats();
        return new ReferenceModel(config, embedding, layers, model.tensor(TensorNames.FINAL_NORM).toFloats(), outputHead);
    }

    private static float[] floats(ModelDescription model, LayerTensor tensor, int layer) {
        return model.tensor(tensor.name(layer)).toFloats();
    }

    private static Linear linear(ModelDescription model, LayerTensor weight, LayerTensor bias, int layer) {
        TensorView weights = model.tensor(weight.name(layer));
        TensorView biases = model.tensors().get(bias.name(layer));
        return new Linear(weights.toFloats(), biases == null ? null : biases.toFloats(),
                (int) weights.shape().dimension(0), (int) weights.shape().dimension(1));
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public InferenceSession newSession() {
        return new ReferenceSession(this);
    }

    @Override
    public void close() {
        // plain arrays: nothing to release
    }

    /** The token-by-token state of one sequence: every layer's keys and values so far. */
    private static final class ReferenceSession implements InferenceSession {
        private final ReferenceModel model;
        private final ModelConfig config;
        private final KeyValueCache[] caches;
        private int position;

        ReferenceSession(ReferenceModel model) {
            this.model = model;
            this.config = model.config;
            this.caches = new KeyValueCache[config.layerCount()];
            for (int i = 0; i < caches.length; i++) {
                caches[i] = new KeyValueCache(config.keyValueHeadCount() * config.headDimension());
            }
        }

        @Override
        public float[][] forward(int[] tokens) {
            int count = tokens.length;
            int hidden = config.hiddenSize();
            float[] x = new float[count * hidden];
            for (int t = 0; t < count; t++) {
                if (tokens[t] < 0 || tokens[t] >= config.vocabularySize()) {
                    throw new IllegalArgumentException("token " + tokens[t] + " outside the vocabulary of " + config.vocabularySize());
                }
                System.arraycopy(model.embedding, tokens[t] * hidden, x, t * hidden, hidden);
            }
            for (int index = 0; index < model.layers.length; index++) {
                DecoderLayer layer = model.layers[index];
                float[] attention = attention(layer, caches[index], Normalization.rms(x, count, layer.attentionNorm(), config.normEpsilon()), count);
                add(x, layer.output().apply(attention, count));
                float[] normed = Normalization.rms(x, count, layer.mlpNorm(), config.normEpsilon());
                add(x, layer.down().apply(swiGlu(layer.gate().apply(normed, count), layer.up().apply(normed, count)), count));
            }
            float[] normed = Normalization.rms(x, count, model.finalNorm, config.normEpsilon());
            Linear head = new Linear(model.outputHead, null, config.vocabularySize(), hidden);
            float[] logits = head.apply(normed, count);
            position += count;
            float[][] rows = new float[count][];
            for (int t = 0; t < count; t++) {
                rows[t] = java.util.Arrays.copyOfRange(logits, t * config.vocabularySize(), (t + 1) * config.vocabularySize());
            }
            return rows;
        }

        /** Softmax attention (optionally windowed) of {@code count} new tokens over the cache; returns {@code [count, heads * headDim]}. */
        private float[] attention(DecoderLayer layer, KeyValueCache cache, float[] input, int count) {
            int heads = config.headCount();
            int keyValueHeads = config.keyValueHeadCount();
            int headDimension = config.headDimension();
            float[] queries = layer.query().apply(input, count);
            float[] keys = layer.key().apply(input, count);
            float[] values = layer.value().apply(input, count);
            if (layer.queryNorm() != null) {
                queries = Normalization.rms(queries, count * heads, layer.queryNorm(), config.normEpsilon());
                keys = Normalization.rms(keys, count * keyValueHeads, layer.keyNorm(), config.normEpsilon());
            }
            Rotary.apply(queries, count, heads, headDimension, position, model.inverseFrequencies);
            Rotary.apply(keys, count, keyValueHeads, headDimension, position, model.inverseFrequencies);
            cache.append(keys, values, count);
            float[] output = new float[count * heads * headDimension];
            float scale = (float) (1 / Math.sqrt(headDimension));
            int group = heads / keyValueHeads;
            int width = keyValueHeads * headDimension;
            float[] scores = new float[position + count];
            for (int t = 0; t < count; t++) {
                int queryPosition = position + t;
                for (int head = 0; head < heads; head++) {
                    int keyHead = head / group;
                    int queryOffset = (t * heads + head) * headDimension;
                    float maximum = Float.NEGATIVE_INFINITY;
                    for (int key = 0; key <= queryPosition; key++) {
                        if (!visible(layer, key, queryPosition)) {
                            scores[key] = Float.NEGATIVE_INFINITY;
                            continue;
                        }
                        float score = 0;
                        for (int d = 0; d < headDimension; d++) {
                            score += queries[queryOffset + d] * cache.keys()[key * width + keyHead * headDimension + d];
                        }
                        scores[key] = score * scale;
                        maximum = Math.max(maximum, scores[key]);
                    }
                    float sum = 0;
                    for (int key = 0; key <= queryPosition; key++) {
                        scores[key] = scores[key] == Float.NEGATIVE_INFINITY ? 0 : (float) Math.exp(scores[key] - maximum);
                        sum += scores[key];
                    }
                    for (int key = 0; key <= queryPosition; key++) {
                        float weight = scores[key] / sum;
                        if (weight == 0) {
                            continue;
                        }
                        for (int d = 0; d < headDimension; d++) {
                            output[queryOffset + d] += weight * cache.values()[key * width + keyHead * headDimension + d];
                        }
                    }
                }
            }
            return output;
        }

        /** Causal, and for a sliding window only the last {@code window} keys (self included) plus the sinks. */
        private static boolean visible(DecoderLayer layer, int key, int queryPosition) {
            return switch (layer.attention().kind()) {
                case SOFTMAX -> key <= queryPosition;
                case SLIDING_WINDOW -> key <= queryPosition
                        && (key > queryPosition - layer.attention().window() || key < layer.attention().sinks());
                case GATED_LINEAR -> throw new IllegalStateException("refused at load");
            };
        }

        private static float[] swiGlu(float[] gate, float[] up) {
            float[] result = new float[gate.length];
            for (int i = 0; i < gate.length; i++) {
                float g = gate[i];
                result[i] = (float) (g / (1 + Math.exp(-g))) * up[i];
            }
            return result;
        }

        private static void add(float[] target, float[] addend) {
            for (int i = 0; i < target.length; i++) {
                target[i] += addend[i];
            }
        }

        @Override
        public int position() {
            return position;
        }

        @Override
        public void close() {
            // nothing native
        }
    }
}
