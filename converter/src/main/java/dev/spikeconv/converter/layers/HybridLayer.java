package dev.spikeconv.converter.layers;

import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Windowed softmax and gated linear attention in one layer (docs/design.md §4): the layer's q, k and v feed both a
 * sliding window of {@code window} keys plus {@code sinks} (with RoPE, exactly {@link SlidingWindowLayer}) and GLA over
 * every key (without RoPE, exactly {@link GatedLinearLayer}, its own decay gate and head norm); {@code o_proj} reads the
 * two outputs side by side, {@code [hidden, 2 · heads · d]}. Memory: the window's cache plus the GLA state.
 *
 * <p>Starting values: GLA's gate and norm, and the source's {@code o_proj} with zero columns for the GLA heads, so a
 * converted layer is exactly its sliding window until calibrate fits the readout of both branches.
 */
public record HybridLayer(int window, int sinks) implements LayerKind {
    public HybridLayer {
        if (window < 1 || sinks < 0) {
            throw new IllegalArgumentException("a hybrid layer needs window >= 1 and sinks >= 0, found " + window + "+" + sinks);
        }
    }

    /** The softmax branch. */
    public SlidingWindowLayer slidingWindow() {
        return new SlidingWindowLayer(window, sinks);
    }

    /** The linear branch. */
    public GatedLinearLayer gatedLinear() {
        return new GatedLinearLayer();
    }

    @Override
    public LayerAttention attention() {
        return LayerAttention.hybrid(window, sinks);
    }

    @Override
    public List<OpFamily> opFamilies() {
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
        return slidingWindow().sequenceMemory(config, context).plus(gatedLinear().sequenceMemory(config, context));
    }

    @Override
    public double mixingMacsPerToken(ModelConfig config, long context) {
        return slidingWindow().mixingMacsPerToken(config, context) + gatedLinear().mixingMacsPerToken(config, context);
    }

    @Override
    public Map<LayerTensor, float[]> initialTensors(ModelConfig config, int layer) {
        return gatedLinear().initialTensors(config, layer);
    }

    @Override
    public String toString() {
        return attention().toString();
    }
}
