package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.layers.LayerKind;

/**
 * The weights of one pre-norm decoder layer. q/k norms are null unless the model has them; the decay
 * gate and head norm, and a hybrid's features and linear scales, are null unless the layer's kind has them.
 */
record DecoderLayer(
        LayerKind kind,
        float[] attentionNorm,
        Projection query,
        Projection key,
        Projection value,
        Projection output,
        float[] queryNorm,
        float[] keyNorm,
        FloatProjection decayGateDown,
        FloatProjection decayGateUp,
        float[] headNorm,
        HybridRecurrence.Features features,
        float[] linearScales,
        float[] mlpNorm,
        Projection gate,
        Projection up,
        Projection down) {}
