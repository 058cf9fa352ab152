package dev.spikeconv.converter.layers;

import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Softmax attention with RoPE over the {@code window} most recent keys, the query's own included, plus the first
 * {@code sinks} positions always (a sink already inside the window counts once): constant decode memory.
 */
public record SlidingWindowLayer(int window, int sinks) implements LayerKind {
    public SlidingWindowLayer {
        if (window < 1 || sinks < 0) {
            throw new IllegalArgumentException("a sliding window needs window >= 1 and sinks >= 0, found " + window + "+" + sinks);
        }
    }

    @Override
    public LayerAttention attention() {
        return LayerAttention.slidingWindow(window, sinks);
    }

    @Override
    public List<OpFamily> opFamilies() {
        return List.of(OpFamily.SWA);
    }

    @Override
    public boolean seesKey(int key, int query) {
        return key <= query && (key > query - window || key < sinks);
    }

    @Override
    public OptionalInt visibleKeys() {
        return OptionalInt.of(window + sinks);
    }

    @Override
    public boolean keepsKeys() {
        return true;
    }

    @Override
    public boolean keepsState() {
        return false;
    }

    @Override
    public SequenceMemory sequenceMemory(ModelConfig config, long context) {
        return new SequenceMemory(0, 2L * config.keyValueHeadCount() * config.headDimension() * Math.min(context, (long) window + sinks), 0);
    }

    @Override
    public double mixingMacsPerToken(ModelConfig config, long context) {
        return 2.0 * config.headCount() * config.headDimension() * Math.min(context, (long) window + sinks);
    }

    @Override
    public Map<LayerTensor, float[]> initialTensors(ModelConfig config, int layer) {
        return Map.of();
    }

    @Override
    public String toString() {
        return attention().toString();
    }
}
