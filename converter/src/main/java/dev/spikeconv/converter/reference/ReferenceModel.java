package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.execution.InferenceEngine;
import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.converter.kernels.VectorKernels;
import dev.spikeconv.converter.layers.GatedLinearLayer;
import dev.spikeconv.converter.layers.HybridLayer;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.converter.layers.SoftmaxLayer;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.RotaryFrequencies;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The plain-Java forward pass of every model spikeconv reads or writes, written to read like the math
 * of docs/design.md §4: softmax, sliding-window and gated linear attention (token by token, the recurrent form),
 * float, int8 and spiking projections. It is the oracle the ONNX graphs are tested against.
 */
public final class ReferenceModel implements InferenceEngine {
    private final ModelConfig config;
    /** Read a row at a time from where it lies: a 7B model's embedding alone would be half a gigabyte of floats. */
    private final TensorView embedding;
    private final DecoderLayer[] layers;
    private final float[] finalNorm;
    private final FloatProjection outputHead;
    private final float[] inverseFrequencies;
    /** Layers whose linear branch is left out (verify's baseline): a GLA layer's whole token mixing, a hybrid's GLA heads. */
    private final boolean[] droppedAttention;

    private ReferenceModel(ModelConfig config, TensorView embedding, DecoderLayer[] layers, float[] finalNorm, FloatProjection outputHead) {
        this(config, embedding, layers, finalNorm, outputHead, new boolean[layers.length]);
    }

    private ReferenceModel(ModelConfig config, TensorView embedding, DecoderLayer[] layers, float[] finalNorm, FloatProjection outputHead,
            boolean[] droppedAttention) {
        this.droppedAttention = droppedAttention;
        this.config = config;
        this.embedding = embedding;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.outputHead = outputHead;
        this.inverseFrequencies = RotaryFrequencies.inverseFrequencies(config);
    }

    /**
     * The model over {@code model}'s tensors as they are stored: projections read and decode their weights block by block
     * when they run, so loading holds only norms, biases and the small GLA gates in memory. The description must stay
     * open while the model is used.
     */
    public static ReferenceModel load(ModelDescription model) {
        ModelConfig config = model.config();
        DecoderLayer[] layers = new DecoderLayer[config.layerCount()];
        for (int index = 0; index < layers.length; index++) {
            layers[index] = loadLayer(model, index);
        }
        FloatProjection outputHead = new FloatProjection(TensorRows.of(model.outputHead()), null);
        return new ReferenceModel(config, model.tensor(TensorNames.EMBEDDING), layers, model.tensor(TensorNames.FINAL_NORM).toFloats(), outputHead);
    }

    /** A copy of this model whose layer {@code index} is read again from {@code model} (same config), e.g. after fitting it. */
    public ReferenceModel withLayer(int index, ModelDescription model) {
        DecoderLayer[] replaced = layers.clone();
        replaced[index] = loadLayer(model, index);
        return new ReferenceModel(config, embedding, replaced, finalNorm, outputHead, droppedAttention);
    }

    private static DecoderLayer loadLayer(ModelDescription model, int index) {
        ModelConfig config = model.config();
        boolean gla = config.layer(index).kind().decayGate();
        boolean hybrid = config.layer(index).kind().linearFeatures();
        return new DecoderLayer(
                LayerKind.of(config, index),
                floats(model, LayerTensor.ATTENTION_NORM, index),
                projection(model, LayerTensor.QUERY_WEIGHT, LayerTensor.QUERY_BIAS, index),
                projection(model, LayerTensor.KEY_WEIGHT, LayerTensor.KEY_BIAS, index),
                projection(model, LayerTensor.VALUE_WEIGHT, LayerTensor.VALUE_BIAS, index),
                projection(model, LayerTensor.OUTPUT_WEIGHT, LayerTensor.OUTPUT_BIAS, index),
                config.qkNorm() ? floats(model, LayerTensor.QUERY_NORM, index) : null,
                config.qkNorm() ? floats(model, LayerTensor.KEY_NORM, index) : null,
                gla ? floatProjection(model, LayerTensor.DECAY_GATE_DOWN_WEIGHT, null, index) : null,
                gla ? floatProjection(model, LayerTensor.DECAY_GATE_UP_WEIGHT, LayerTensor.DECAY_GATE_UP_BIAS, index) : null,
                gla ? floats(model, LayerTensor.HEAD_OUTPUT_NORM, index) : null,
                hybrid ? new HybridRecurrence.Features(floats(model, LayerTensor.FEATURE_MAP, index), floats(model, LayerTensor.FEATURE_BIAS, index)) : null,
                hybrid ? floats(model, LayerTensor.LINEAR_SCALE, index) : null,
                floats(model, LayerTensor.MLP_NORM, index),
                projection(model, LayerTensor.MLP_GATE_WEIGHT, LayerTensor.MLP_GATE_BIAS, index),
                projection(model, LayerTensor.MLP_UP_WEIGHT, LayerTensor.MLP_UP_BIAS, index),
                projection(model, LayerTensor.MLP_DOWN_WEIGHT, LayerTensor.MLP_DOWN_BIAS, index));
    }

    private static float[] floats(ModelDescription model, LayerTensor tensor, int layer) {
        return model.tensor(tensor.name(layer)).toFloats();
    }

    private static float[] bias(ModelDescription model, LayerTensor bias, int layer) {
        TensorView tensor = bias == null ? null : model.tensors().get(bias.name(layer));
        return tensor == null ? null : tensor.toFloats();
    }

    private static FloatProjection floatProjection(ModelDescription model, LayerTensor weight, LayerTensor bias, int layer) {
        return new FloatProjection(TensorRows.of(model.tensor(weight.name(layer))), bias(model, bias, layer));
    }

    /** A projection as the model's spike settings and weight storage make it. */
    private static Projection projection(ModelDescription model, LayerTensor weight, LayerTensor bias, int layer) {
        SpikeSettings spike = model.config().spike();
        String name = weight.name(layer);
        String site = SpikeSites.site(weight, layer);
        TensorView weights = model.tensor(name);
        float[] biases = bias(model, bias, layer);
        if (!spike.spikes(site)) {
            return new FloatProjection(TensorRows.of(weights), biases);
        }
        return weights instanceof ScaledInt8Tensor int8
                ? new SpikingProjection(site, int8, biases, SpikeSites.threshold(model, site), spike.timeSteps())
                : new SpikingProjection(site, TensorRows.of(weights), biases, SpikeSites.threshold(model, site), spike.timeSteps());
    }

    /**
     * What one layer computed for a sequence: normed attention input, attention heads before o_proj (null when a GLA
     * layer's attention is left out), and the two residual updates (the MLP's null from {@link #runAttention}).
     */
    public record LayerStep(float[] attentionInput, float[] attentionHeads, float[] attentionOutput, float[] mlpOutput) {}

    /** The embeddings of {@code tokens}, {@code [count, hidden]}: the residual stream that {@link #runLayer} advances. */
    public float[] embed(int[] tokens) {
        int hidden = config.hiddenSize();
        float[] x = new float[tokens.length * hidden];
        for (int t = 0; t < tokens.length; t++) {
            if (tokens[t] < 0 || tokens[t] >= config.vocabularySize()) {
                throw new IllegalArgumentException("token " + tokens[t] + " outside the vocabulary of " + config.vocabularySize());
            }
            embedding.readFloats((long) tokens[t] * hidden, x, t * hidden, hidden);
        }
        return x;
    }

    /**
     * Runs layer {@code index} over a whole sequence from position 0, adding its updates to the residual
     * stream {@code x} in place: calibration and verify advance models layer by layer this way.
     */
    public LayerStep runLayer(int index, float[] x, int count) {
        return runLayer(index, x, count, SpikingSiteHooks.NONE);
    }

    /** The same, with {@code hooks} at the layer's spiking sites. */
    public LayerStep runLayer(int index, float[] x, int count, SpikingSiteHooks hooks) {
        try (ReferenceSession session = new ReferenceSession(hooks)) {
            return session.layer(index, x, count);
        }
    }

    /**
     * The attention branch of layer {@code index} alone over a whole sequence from position 0: its normed input, heads
     * and output, as {@link #runLayer} computes them, without the MLP ({@code mlpOutput} is null) and leaving {@code x}
     * as it is. Attention transfer reads a layer's attention many times while it fits it, and never its MLP.
     */
    public LayerStep runAttention(int index, float[] x, int count) {
        try (ReferenceSession session = new ReferenceSession(SpikingSiteHooks.NONE)) {
            return session.attention(index, x, count);
        }
    }

    /**
     * The heap one {@link #runLayer} call of {@code tokens} tokens allocates at most, from the shapes alone: the normed
     * input, q/k/v and their cache, the heads before and after their norm, the MLP's gate, up, product and output, the
     * spiking inputs' counts, and what the step returns (an upper bound, about 4·hidden + 4·heads·d + 4·kv·d + 5·ffn floats a token).
     */
    public static long layerBytes(ModelConfig config, int tokens) {
        long heads = (long) config.headCount() * config.headDimension();
        long keyValues = (long) config.keyValueHeadCount() * config.headDimension();
        long perToken = 4L * config.hiddenSize() + 4 * heads + 4 * keyValues + 5L * config.intermediateSize();
        return (long) tokens * perToken * Float.BYTES;
    }

    /** The logits {@code [count, vocab]} of the final residual stream {@code x} {@code [count, hidden]}: final norm and output head. */
    public float[] logits(float[] x, int count) {
        return outputHead.apply(Normalization.rms(x, count, finalNorm, config.normEpsilon()), count);
    }

    /**
     * The same model without its linear branches: a GLA layer's attention adds nothing to the residual stream (the MLP
     * still runs), a hybrid layer's o_proj reads zeros for its GLA heads. Verify's baseline: GLA that is useful must beat it.
     */
    public ReferenceModel withoutRecurrentAttention() {
        boolean[] dropped = new boolean[layers.length];
        for (int index = 0; index < layers.length; index++) {
            dropped[index] = layers[index].kind().keepsState();
        }
        return new ReferenceModel(config, embedding, layers, finalNorm, outputHead, dropped);
    }

    /**
     * The same model with every recurrent (GLA) layer's attention replaced by {@code dense}'s attention of that layer, run as
     * {@code window}: verify's all-SWA baseline, which says what the GLA layers add beyond the window. The replaced
     * attention keeps {@code dense}'s weights as it stores them (a bundle's GLA layers were refitted and cannot serve);
     * norms and MLPs stay this model's.
     */
    public ReferenceModel withRecurrentAttentionFrom(ReferenceModel dense, SlidingWindowLayer window) {
        if (dense.layers.length != layers.length) {
            throw new IllegalArgumentException("the dense model has " + dense.layers.length + " layers, this one " + layers.length);
        }
        DecoderLayer[] replaced = layers.clone();
        for (int index = 0; index < layers.length; index++) {
            DecoderLayer own = layers[index];
            DecoderLayer source = dense.layers[index];
            if (own.kind().keepsState()) {
                replaced[index] = new DecoderLayer(window, own.attentionNorm(), source.query(), source.key(), source.value(), source.output(),
                        source.queryNorm(), source.keyNorm(), null, null, null, null, null, own.mlpNorm(), own.gate(), own.up(), own.down());
            }
        }
        return new ReferenceModel(config, embedding, replaced, finalNorm, outputHead, droppedAttention);
    }

    /** The rotated queries {@code [count, heads·d]} and keys {@code [count, kvHeads·d]} of layer {@code index}, from position 0. */
    public QueriesAndKeys rotatedQueriesAndKeys(int index, float[] normed, int count) {
        QueryKeyValue projected = projectQueryKeyValue(layers[index], normed, count, SpikingSiteHooks.NONE);
        Rotary.apply(projected.queries(), count, config.headCount(), config.headDimension(), 0, inverseFrequencies);
        Rotary.apply(projected.keys(), count, config.keyValueHeadCount(), config.headDimension(), 0, inverseFrequencies);
        return new QueriesAndKeys(projected.queries(), projected.keys());
    }

    /** Queries and keys of one run of tokens. */
    public record QueriesAndKeys(float[] queries, float[] keys) {}

    /** The normed attention input of layer {@code index} for the residual stream {@code x}. */
    public float[] attentionInput(int index, float[] x, int count) {
        return Normalization.rms(x, count, layers[index].attentionNorm(), config.normEpsilon());
    }

    /**
     * How much of softmax layer {@code index}'s attention falls on the keys {@code probe} would keep (its sinks and window),
     * per head, summed over the {@code count} queries of the residual stream {@code x} from position 0: LightTransfer's
     * "lazy ratio" when divided by {@code count}. A head near 1 loses little to the window; a head well below it reads far back.
     */
    public double[] attentionMassWithin(int index, float[] x, int count, LayerKind probe) {
        DecoderLayer layer = layers[index];
        if (layer.kind().keepsState()) {
            throw new IllegalArgumentException("layer " + index + " is " + layer.kind() + ", not softmax attention");
        }
        int heads = config.headCount();
        int headDimension = config.headDimension();
        int group = heads / config.keyValueHeadCount();
        int width = config.keyValueHeadCount() * headDimension;
        QueryKeyValue projected = projectQueryKeyValue(layer, attentionInput(index, x, count), count, SpikingSiteHooks.NONE);
        float[] queries = projected.queries();
        float[] keys = projected.keys();
        Rotary.apply(queries, count, heads, headDimension, 0, inverseFrequencies);
        Rotary.apply(keys, count, config.keyValueHeadCount(), headDimension, 0, inverseFrequencies);
        float scale = (float) (1 / Math.sqrt(headDimension));
        double[] mass = new double[heads];
        IntStream.range(0, heads).parallel().forEach(head -> {
            int keyOffset = head / group * headDimension;
            double[] scores = new double[count];
            double within = 0;
            for (int query = 0; query < count; query++) {
                double maximum = Double.NEGATIVE_INFINITY;
                for (int key = 0; key <= query; key++) {
                    scores[key] = layer.kind().seesKey(key, query)
                            ? VectorKernels.dot(queries, (query * heads + head) * headDimension, keys, key * width + keyOffset, headDimension) * scale
                            : Double.NEGATIVE_INFINITY;
                    maximum = Math.max(maximum, scores[key]);
                }
                double sum = 0;
                double kept = 0;
                for (int key = 0; key <= query; key++) {
                    double weight = scores[key] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(scores[key] - maximum);
                    sum += weight;
                    kept += probe.seesKey(key, query) ? weight : 0;
                }
                within += kept / sum;
            }
            mass[head] = within;
        });
        return mass;
    }

    /** The q, k, v and decays GLA layer {@code index} computes from its normed input. */
    public GatedLinearInputs gatedLinearInputs(int index, float[] normed, int count) {
        if (!(layers[index].kind() instanceof GatedLinearLayer)) {
            throw new IllegalArgumentException("layer " + index + " is " + layers[index].kind() + ", not gated linear attention");
        }
        return gatedLinearInputs(layers[index], normed, count, SpikingSiteHooks.NONE);
    }

    private record QueryKeyValue(float[] queries, float[] keys, float[] values) {}

    /** q, k and v of the normed input, with Qwen3's q/k norms when the model has them. */
    private QueryKeyValue projectQueryKeyValue(DecoderLayer layer, float[] input, int count, SpikingSiteHooks hooks) {
        float[] queries = layer.query().apply(input, count, hooks);
        float[] keys = layer.key().apply(input, count, hooks);
        float[] values = layer.value().apply(input, count, hooks);
        if (layer.queryNorm() != null) {
            queries = Normalization.rms(queries, count * config.headCount(), layer.queryNorm(), config.normEpsilon());
            keys = Normalization.rms(keys, count * config.keyValueHeadCount(), layer.keyNorm(), config.normEpsilon());
        }
        return new QueryKeyValue(queries, keys, values);
    }

    private GatedLinearInputs gatedLinearInputs(DecoderLayer layer, float[] input, int count, SpikingSiteHooks hooks) {
        QueryKeyValue projected = projectQueryKeyValue(layer, input, count, hooks);
        int d = config.headDimension();
        float[] queries = projected.queries();
        float[] keys = projected.keys();
        float[] values = projected.values();
        float queryScale = (float) (1 / Math.sqrt(d));
        for (int i = 0; i < queries.length; i++) {
            queries[i] = Math.max(0, queries[i]) * queryScale;
        }
        for (int i = 0; i < keys.length; i++) {
            keys[i] = Math.max(0, keys[i]);
        }
        float[] decays = layer.decayGateUp().apply(layer.decayGateDown().apply(input, count), count);
        float normalizer = config.gateLogitNormalizer();
        for (int i = 0; i < decays.length; i++) {
            decays[i] = (float) Math.exp(logSigmoid(decays[i]) / normalizer);
        }
        return new GatedLinearInputs(queries, keys, values, decays, count);
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public InferenceSession newSession() {
        return new ReferenceSession(SpikingSiteHooks.NONE);
    }

    /** A session whose spiking sites run {@code hooks} on every forward call (forced counts, observed activations). */
    public InferenceSession newSession(SpikingSiteHooks hooks) {
        return new ReferenceSession(hooks);
    }

    @Override
    public void close() {
        // plain arrays: nothing to release
    }

    /** One sequence: softmax and sliding-window layers keep every key and value, GLA layers their state. */
    private final class ReferenceSession implements InferenceSession {
        private final KeyValueCache[] caches = new KeyValueCache[config.layerCount()];
        private final float[][][] states = new float[config.layerCount()][][];
        private final SpikingSiteHooks hooks;
        private int position;

        ReferenceSession(SpikingSiteHooks hooks) {
            this.hooks = hooks;
            int width = config.keyValueHeadCount() * config.headDimension();
            for (int layer = 0; layer < caches.length; layer++) {
                LayerKind kind = layers[layer].kind();
                // A GLA state is d × d per key/value head; a hybrid's m × (d + 1), its features' key-value sums and their sums.
                switch (kind) {
                    case GatedLinearLayer linear -> states[layer] = new float[config.keyValueHeadCount()][config.headDimension() * config.headDimension()];
                    case HybridLayer hybrid -> states[layer] = new float[config.keyValueHeadCount()][AttentionKind.HYBRID_FEATURES * (config.headDimension() + 1)];
                    case SoftmaxLayer softmax -> { }
                    case SlidingWindowLayer window -> { }
                }
                if (kind.keepsKeys()) {
                    caches[layer] = new KeyValueCache(width);
                }
            }
        }

        @Override
        public float[][] forward(int[] tokens) {
            int count = tokens.length;
            float[] x = embed(tokens);
            for (int index = 0; index < layers.length; index++) {
                layer(index, x, count);
            }
            float[] logits = logits(x, count);
            position += count;
            float[][] rows = new float[count][];
            for (int t = 0; t < count; t++) {
                rows[t] = Arrays.copyOfRange(logits, t * config.vocabularySize(), (t + 1) * config.vocabularySize());
            }
            return rows;
        }

        /** One pre-norm block on {@code count} new tokens; adds both branches to {@code x}. */
        LayerStep layer(int index, float[] x, int count) {
            LayerStep attention = attention(index, x, count);
            add(x, attention.attentionOutput());
            return mlp(layers[index], x, count, attention.attentionInput(), attention.attentionHeads(), attention.attentionOutput());
        }

        /** The attention branch of layer {@code index} over {@code x}, which it leaves as it is; the step has no MLP output. */
        LayerStep attention(int index, float[] x, int count) {
            DecoderLayer layer = layers[index];
            float[] normed = Normalization.rms(x, count, layer.attentionNorm(), config.normEpsilon());
            if (droppedAttention[index] && layer.kind() instanceof GatedLinearLayer) {
                return new LayerStep(normed, null, new float[x.length], null);
            }
            // The one switch from a layer's kind to the reference step that computes it.
            float[] mixed = switch (layer.kind()) {
                case SoftmaxLayer softmax -> softmaxAttention(layer, softmax, caches[index], normed, count);
                case SlidingWindowLayer window -> softmaxAttention(layer, window, caches[index], normed, count);
                case GatedLinearLayer linear -> gatedLinearAttention(layer, states[index], normed, count);
                case HybridLayer hybrid -> hybridAttention(layer, hybrid, caches[index], states[index], normed, count, droppedAttention[index]);
            };
            return new LayerStep(normed, mixed, layer.output().apply(mixed, count, hooks), null);
        }

        /** The MLP branch after the attention branch was added to {@code x}. */
        private LayerStep mlp(DecoderLayer layer, float[] x, int count, float[] normed, float[] mixed, float[] attentionOutput) {
            float[] mlpInput = Normalization.rms(x, count, layer.mlpNorm(), config.normEpsilon());
            float[] mlpOutput = layer.down().apply(swiGlu(layer.gate().apply(mlpInput, count, hooks), layer.up().apply(mlpInput, count, hooks)), count, hooks);
            add(x, mlpOutput);
            return new LayerStep(normed, mixed, attentionOutput, mlpOutput);
        }

        /** Softmax attention over the causal (optionally windowed) past; returns {@code [count, heads * headDim]}. */
        private float[] softmaxAttention(DecoderLayer layer, LayerKind kind, KeyValueCache cache, float[] input, int count) {
            return softmaxAttention(kind, cache, projectQueryKeyValue(layer, input, count, hooks), count);
        }

        /** The same from projected q, k, v, which it rotates in place. */
        private float[] softmaxAttention(LayerKind kind, KeyValueCache cache, QueryKeyValue projected, int count) {
            int heads = config.headCount();
            int keyValueHeads = config.keyValueHeadCount();
            int headDimension = config.headDimension();
            float[] queries = projected.queries();
            float[] keys = projected.keys();
            float[] values = projected.values();
            Rotary.apply(queries, count, heads, headDimension, position, inverseFrequencies);
            Rotary.apply(keys, count, keyValueHeads, headDimension, position, inverseFrequencies);
            cache.append(keys, values, count);
            float[] output = new float[count * heads * headDimension];
            float scale = (float) (1 / Math.sqrt(headDimension));
            int group = heads / keyValueHeads;
            int width = keyValueHeads * headDimension;
            float[] cachedKeys = cache.keys();
            float[] cachedValues = cache.values();
            // Every (query, head) pair is independent: the heads run in parallel, each over its own rows of the output.
            IntStream.range(0, heads).parallel().forEach(head -> {
                int keyHead = head / group;
                float[] scores = new float[position + count];
                for (int t = 0; t < count; t++) {
                    int queryPosition = position + t;
                    int queryOffset = (t * heads + head) * headDimension;
                    float maximum = Float.NEGATIVE_INFINITY;
                    for (int key = 0; key <= queryPosition; key++) {
                        if (!kind.seesKey(key, queryPosition)) {
                            scores[key] = Float.NEGATIVE_INFINITY;
                            continue;
                        }
                        scores[key] = VectorKernels.dot(queries, queryOffset, cachedKeys, key * width + keyHead * headDimension, headDimension) * scale;
                        maximum = Math.max(maximum, scores[key]);
                    }
                    float sum = 0;
                    for (int key = 0; key <= queryPosition; key++) {
                        scores[key] = scores[key] == Float.NEGATIVE_INFINITY ? 0 : (float) Math.exp(scores[key] - maximum);
                        sum += scores[key];
                    }
                    for (int key = 0; key <= queryPosition; key++) {
                        float weight = scores[key] / sum;
                        if (weight != 0) {
                            VectorKernels.addScaled(output, queryOffset, weight, cachedValues, key * width + keyHead * headDimension, headDimension);
                        }
                    }
                }
            });
            return output;
        }

        /**
         * A hybrid layer: its window's softmax weights and its older keys' linear ones under one normalizer
         * ({@link HybridRecurrence}), {@code [count, heads · d]}; without the linear branch it is its window exactly.
         */
        private float[] hybridAttention(DecoderLayer layer, HybridLayer hybrid, KeyValueCache cache, float[][] state, float[] input, int count,
                boolean withoutLinearBranch) {
            int heads = config.headCount();
            int keyValueHeads = config.keyValueHeadCount();
            int headDimension = config.headDimension();
            QueryKeyValue projected = projectQueryKeyValue(layer, input, count, hooks);
            float[] queries = projected.queries();
            Rotary.apply(queries, count, heads, headDimension, position, inverseFrequencies);
            Rotary.apply(projected.keys(), count, keyValueHeads, headDimension, position, inverseFrequencies);
            cache.append(projected.keys(), projected.values(), count);
            float[] scales = withoutLinearBranch ? new float[heads] : layer.linearScales();
            float[] output = new float[count * heads * headDimension];
            // Key/value heads carry their own states and write their own query heads' outputs: they run in parallel.
            IntStream.range(0, keyValueHeads).parallel().forEach(keyHead -> HybridRecurrence.run(queries, cache.keys(), cache.values(), position, count,
                    heads, keyValueHeads, headDimension, keyHead, hybrid.window(), hybrid.sinks(), layer.features(), scales, state[keyHead], output));
            return output;
        }

        /** GLA, one token at a time: the recurrence of every key/value head, then {@code RMSNorm(o) · g_norm} per head. */
        private float[] gatedLinearAttention(DecoderLayer layer, float[][] state, float[] input, int count) {
            GatedLinearInputs inputs = gatedLinearInputs(layer, input, count, hooks);
            int heads = config.headCount();
            float[] output = new float[count * heads * config.headDimension()];
            // Key/value heads carry their own states and write their own query heads' outputs: they run in parallel.
            IntStream.range(0, config.keyValueHeadCount()).parallel()
                    .forEach(keyHead -> GatedLinearRecurrence.run(inputs, heads, config.keyValueHeadCount(), config.headDimension(), keyHead, state[keyHead], output));
            return Normalization.rms(output, count * heads, layer.headNorm(), config.normEpsilon());
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
