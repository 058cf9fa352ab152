package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.execution.InferenceEngine;
import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.converter.model.RotaryFrequencies;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.util.Arrays;

/**
 * The plain-Java forward pass of every model spikeconv reads or writes, written to read like the math
 * of DESIGN §4: softmax, sliding-window and gated linear attention (token by token, the recurrent form),
 * float, int8 and spiking projections. It is the oracle the ONNX graphs are tested against.
 */
public final class ReferenceModel implements InferenceEngine {
    private final ModelConfig config;
    private final float[] embedding;
    private final DecoderLayer[] layers;
    private final float[] finalNorm;
    private final FloatProjection outputHead;
    private final float[] inverseFrequencies;

    private ReferenceModel(ModelConfig config, float[] embedding, DecoderLayer[] layers, float[] finalNorm, FloatProjection outputHead) {
        this.config = config;
        this.embedding = embedding;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.outputHead = outputHead;
        this.inverseFrequencies = RotaryFrequencies.inverseFrequencies(config);
    }

    public static ReferenceModel load(ModelDescription model) {
        ModelConfig config = model.config();
        SpikeSettings spike = config.spike();
        float[] embedding = model.tensor(TensorNames.EMBEDDING).toFloats();
        DecoderLayer[] layers = new DecoderLayer[config.layerCount()];
        for (int index = 0; index < layers.length; index++) {
            boolean gla = config.layer(index).kind() == AttentionKind.GATED_LINEAR;
            layers[index] = new DecoderLayer(
                    config.layer(index),
                    floats(model, LayerTensor.ATTENTION_NORM, index),
                    projection(model, LayerTensor.QUERY_WEIGHT, LayerTensor.QUERY_BIAS, index, spike),
                    projection(model, LayerTensor.KEY_WEIGHT, LayerTensor.KEY_BIAS, index, spike),
                    projection(model, LayerTensor.VALUE_WEIGHT, LayerTensor.VALUE_BIAS, index, spike),
                    projection(model, LayerTensor.OUTPUT_WEIGHT, LayerTensor.OUTPUT_BIAS, index, spike),
                    config.qkNorm() ? floats(model, LayerTensor.QUERY_NORM, index) : null,
                    config.qkNorm() ? floats(model, LayerTensor.KEY_NORM, index) : null,
                    gla ? floatProjection(model, LayerTensor.DECAY_GATE_DOWN_WEIGHT, null, index) : null,
                    gla ? floatProjection(model, LayerTensor.DECAY_GATE_UP_WEIGHT, LayerTensor.DECAY_GATE_UP_BIAS, index) : null,
                    gla ? floats(model, LayerTensor.HEAD_OUTPUT_NORM, index) : null,
                    floats(model, LayerTensor.MLP_NORM, index),
                    projection(model, LayerTensor.MLP_GATE_WEIGHT, LayerTensor.MLP_GATE_BIAS, index, spike),
                    projection(model, LayerTensor.MLP_UP_WEIGHT, LayerTensor.MLP_UP_BIAS, index, spike),
                    projection(model, LayerTensor.MLP_DOWN_WEIGHT, LayerTensor.MLP_DOWN_BIAS, index, spike));
        }
        TensorView head = model.outputHead();
        float[] headWeights = head == model.tensor(TensorNames.EMBEDDING) ? embedding : head.toFloats();
        FloatProjection outputHead = new FloatProjection(headWeights, null, config.vocabularySize(), config.hiddenSize());
        return new ReferenceModel(config, embedding, layers, model.tensor(TensorNames.FINAL_NORM).toFloats(), outputHead);
    }

    private static float[] floats(ModelDescription model, LayerTensor tensor, int layer) {
        return model.tensor(tensor.name(layer)).toFloats();
    }

    private static float[] bias(ModelDescription model, LayerTensor bias, int layer) {
        TensorView tensor = bias == null ? null : model.tensors().get(bias.name(layer));
        return tensor == null ? null : tensor.toFloats();
    }

    private static FloatProjection floatProjection(ModelDescription model, LayerTensor weight, LayerTensor bias, int layer) {
        TensorView weights = model.tensor(weight.name(layer));
        return new FloatProjection(weights.toFloats(), bias(model, bias, layer), (int) weights.shape().dimension(0), (int) weights.shape().dimension(1));
    }

    /** A projection as the model's spike settings and weight storage make it. */
    private static Projection projection(ModelDescription model, LayerTensor weight, LayerTensor bias, int layer, SpikeSettings spike) {
        String name = weight.name(layer);
        String site = name.substring(0, name.length() - ".weight".length());
        TensorView weights = model.tensor(name);
        int outputs = (int) weights.shape().dimension(0);
        int inputs = (int) weights.shape().dimension(1);
        float[] biases = bias(model, bias, layer);
        if (weights instanceof ScaledInt8Tensor int8) {
            Int8Weights codes = Int8Weights.of(int8);
            return spike.spikes(site) ? new SpikingProjection(codes, biases, spike) : new FloatProjection(codes.dequantized(), biases, outputs, inputs);
        }
        float[] values = weights.toFloats();
        return spike.spikes(site) ? new SpikingProjection(values, biases, outputs, inputs, spike) : new FloatProjection(values, biases, outputs, inputs);
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public InferenceSession newSession() {
        return new ReferenceSession();
    }

    @Override
    public void close() {
        // plain arrays: nothing to release
    }

    /** One sequence: softmax and sliding-window layers keep every key and value, GLA layers their state. */
    private final class ReferenceSession implements InferenceSession {
        private final KeyValueCache[] caches = new KeyValueCache[config.layerCount()];
        private final float[][][] states = new float[config.layerCount()][][];
        private int position;

        ReferenceSession() {
            int width = config.keyValueHeadCount() * config.headDimension();
            for (int layer = 0; layer < caches.length; layer++) {
                if (config.layer(layer).kind() == AttentionKind.GATED_LINEAR) {
                    states[layer] = new float[config.keyValueHeadCount()][config.headDimension() * config.headDimension()];
                }
                else {
                    caches[layer] = new KeyValueCache(width);
                }
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
                System.arraycopy(embedding, tokens[t] * hidden, x, t * hidden, hidden);
            }
            for (int index = 0; index < layers.length; index++) {
                DecoderLayer layer = layers[index];
                float[] normed = Normalization.rms(x, count, layer.attentionNorm(), config.normEpsilon());
                float[] mixed = layer.attention().kind() == AttentionKind.GATED_LINEAR
                        ? gatedLinearAttention(layer, states[index], normed, count)
                        : softmaxAttention(layer, caches[index], normed, count);
                add(x, layer.output().apply(mixed, count));
                float[] mlpInput = Normalization.rms(x, count, layer.mlpNorm(), config.normEpsilon());
                add(x, layer.down().apply(swiGlu(layer.gate().apply(mlpInput, count), layer.up().apply(mlpInput, count)), count));
            }
            float[] logits = outputHead.apply(Normalization.rms(x, count, finalNorm, config.normEpsilon()), count);
            position += count;
            float[][] rows = new float[count][];
            for (int t = 0; t < count; t++) {
                rows[t] = Arrays.copyOfRange(logits, t * config.vocabularySize(), (t + 1) * config.vocabularySize());
            }
            return rows;
        }

        /** Softmax attention over the causal (optionally windowed) past; returns {@code [count, heads * headDim]}. */
        private float[] softmaxAttention(DecoderLayer layer, KeyValueCache cache, float[] input, int count) {
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
            Rotary.apply(queries, count, heads, headDimension, position, inverseFrequencies);
            Rotary.apply(keys, count, keyValueHeads, headDimension, position, inverseFrequencies);
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

        /**
         * GLA, one token at a time: {@code q = ReLU(q_proj x)/sqrt(d)}, {@code k = ReLU(k_proj x)}, {@code v = v_proj x},
         * {@code log α = logsigmoid(W_g1 W_g0 x + b)/normalizer}, {@code S = diag(α) S + kᵀv}, {@code o = RMSNorm(q S) · g_norm}.
         * Query heads of one group share their key/value head's state.
         */
        private float[] gatedLinearAttention(DecoderLayer layer, float[][] state, float[] input, int count) {
            int heads = config.headCount();
            int keyValueHeads = config.keyValueHeadCount();
            int d = config.headDimension();
            int group = heads / keyValueHeads;
            float[] queries = layer.query().apply(input, count);
            float[] keys = layer.key().apply(input, count);
            float[] values = layer.value().apply(input, count);
            if (layer.queryNorm() != null) {
                queries = Normalization.rms(queries, count * heads, layer.queryNorm(), config.normEpsilon());
                keys = Normalization.rms(keys, count * keyValueHeads, layer.keyNorm(), config.normEpsilon());
            }
            float queryScale = (float) (1 / Math.sqrt(d));
            for (int i = 0; i < queries.length; i++) {
                queries[i] = Math.max(0, queries[i]) * queryScale;
            }
            for (int i = 0; i < keys.length; i++) {
                keys[i] = Math.max(0, keys[i]);
            }
            float[] logits = layer.decayGateUp().apply(layer.decayGateDown().apply(input, count), count);
            float normalizer = config.gateLogitNormalizer();
            float[] output = new float[count * heads * d];
            for (int t = 0; t < count; t++) {
                for (int keyHead = 0; keyHead < keyValueHeads; keyHead++) {
                    float[] s = state[keyHead];
                    int channel = (t * keyValueHeads + keyHead) * d;
                    for (int i = 0; i < d; i++) {
                        float decay = (float) Math.exp(logSigmoid(logits[channel + i]) / normalizer);
                        float key = keys[channel + i];
                        for (int j = 0; j < d; j++) {
                            s[i * d + j] = decay * s[i * d + j] + key * values[channel + j];
                        }
                    }
                    for (int member = 0; member < group; member++) {
                        int head = keyHead * group + member;
                        int offset = (t * heads + head) * d;
                        for (int j = 0; j < d; j++) {
                            float sum = 0;
                            for (int i = 0; i < d; i++) {
                                sum += queries[offset + i] * s[i * d + j];
                            }
                            output[offset + j] = sum;
                        }
                    }
                }
            }
            return Normalization.rms(output, count * heads, layer.headNorm(), config.normEpsilon());
        }

        /** Causal, and for a sliding window only the last {@code window} keys (self included) plus the sinks. */
        private static boolean visible(DecoderLayer layer, int key, int queryPosition) {
            return switch (layer.attention().kind()) {
                case SOFTMAX -> key <= queryPosition;
                case SLIDING_WINDOW -> key <= queryPosition
                        && (key > queryPosition - layer.attention().window() || key < layer.attention().sinks());
                case GATED_LINEAR -> throw new IllegalStateException("gated linear layers have no key visibility");
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

    /** {@code log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))}, stable for any x. */
    static float logSigmoid(float x) {
        return (float) (Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x))));
    }
}
