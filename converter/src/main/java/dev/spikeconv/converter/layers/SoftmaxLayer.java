package dev.spikeconv.converter.layers;

import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/** Causal softmax attention with RoPE over every earlier token: the dense model's own layers. */
public record SoftmaxLayer() implements LayerKind {
    @Override
    public LayerAttention attention() {
        return LayerAttention.softmax();
    }

    @Override
    public List<OpFamily> opFamilies() {
        return List.of(OpFamily.SOFTMAX);
    }

    @Override
    public boolean seesKey(int key, int query) {
        return key <= query;
    }

    @Override
    public OptionalInt visibleKeys() {
        return OptionalInt.empty();
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
        return new SequenceMemory(0, 0, 2L * config.keyValueHeadCount() * config.headDimension() * context);
    }

    @Override
    public double mixingMacsPerToken(ModelConfig config, long context) {
        return 2.0 * config.headCount() * config.headDimension() * context;
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
