package dev.spikeconv.converter.layers;

import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;

/**
 * Windowed softmax and linear attention in one layer under one normalizer (docs/design.md §4), the way LoLCATs splits the
 * keys: per head, exact softmax weights {@code e^{s - c}} for the sinks and the last {@code window} keys (rotated, as
 * {@link SlidingWindowLayer}), and {@code β_h φ(q)·φ(k) e^{-c}} for every older key, where {@code φ} maps a rotated vector
 * to {@link AttentionKind#HYBRID_FEATURES} positive random features whose products estimate {@code e^{q·k/√d}}
 * (Performer's FAVOR+, with importance weights when calibrate draws the directions around the layer's own query-key
 * pairs). Both weights share the denominator, so the older keys take the share of attention the dense model gives them. Memory: the window's cache plus the state {@code Σ φ(k)[v, 1]}, {@code [features, d + 1]} per
 * key/value head.
 *
 * <p>Starting values: seeded standard normal directions with zero biases, and {@code β = 0}, so a converted layer is
 * exactly its sliding window until calibrate fits the features and β.
 */
public record HybridLayer(int window, int sinks) implements LayerKind {
    public HybridLayer {
        if (window < 1 || sinks < 0) {
            throw new IllegalArgumentException("a hybrid layer needs window >= 1 and sinks >= 0, found " + window + "+" + sinks);
        }
    }

    /** The keys the layer weighs exactly, as a sliding-window layer of the same window and sinks sees them. */
    public SlidingWindowLayer slidingWindow() {
        return new SlidingWindowLayer(window, sinks);
    }

    @Override
    public LayerAttention attention() {
        return LayerAttention.hybrid(window, sinks);
    }

    @Override
    public List<OpFamily> opFamilies() {
        // The linear branch is a recurrence with a state, GLA's kernels with the decay fixed at 1 and keys of the features' width.
        return List.of(OpFamily.SWA, OpFamily.GLA);
    }

    @Override
    public boolean seesKey(int key, int query) {
        return slidingWindow().seesKey(key, query);
    }

    @Override
    public OptionalInt visibleKeys() {
        return slidingWindow().visibleKeys();
    }

    @Override
    public boolean keepsKeys() {
        return true;
    }

    @Override
    public boolean keepsState() {
        return true;
    }

    @Override
    public SequenceMemory sequenceMemory(ModelConfig config, long context) {
        return slidingWindow().sequenceMemory(config, context)
                .plus(new SequenceMemory((long) config.keyValueHeadCount() * AttentionKind.HYBRID_FEATURES * (config.headDimension() + 1), 0, 0));
    }

    @Override
    public double mixingMacsPerToken(ModelConfig config, long context) {
        // Features of the query heads and the new key, the state read per query head and the key folded in.
        long features = AttentionKind.HYBRID_FEATURES;
        long d = config.headDimension();
        return slidingWindow().mixingMacsPerToken(config, context) + (double) (config.headCount() + config.keyValueHeadCount()) * features * d
                + (double) config.headCount() * features * (d + 1) + (double) config.keyValueHeadCount() * features * (d + 1);
    }

    @Override
    public Map<LayerTensor, float[]> initialTensors(ModelConfig config, int layer) {
        Map<LayerTensor, float[]> tensors = new LinkedHashMap<>();
        tensors.put(LayerTensor.FEATURE_MAP, featureDirections(config.headDimension(), layer));
        tensors.put(LayerTensor.FEATURE_BIAS, new float[AttentionKind.HYBRID_FEATURES]);
        tensors.put(LayerTensor.LINEAR_SCALE, new float[config.headCount()]);
        return tensors;
    }

    /** Standard normal directions {@code [features, d]}, seeded by the layer so a conversion is deterministic. */
    static float[] featureDirections(int d, int layer) {
        Random random = new Random(0x4879_6272_6964L + layer);
        float[] directions = new float[AttentionKind.HYBRID_FEATURES * d];
        for (int i = 0; i < directions.length; i++) {
            directions[i] = (float) random.nextGaussian();
        }
        return directions;
    }

    @Override
    public String toString() {
        return attention().toString();
    }
}
