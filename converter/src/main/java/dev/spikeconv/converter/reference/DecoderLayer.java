package dev.spikeconv.converter.reference;

import dev.spikeconv.formats.model.LayerAttention;

/**
 * The weights of one pre-norm decoder layer. q/k norms are null unless the model has them; the decay
 * gate and head norm are null unless the layer is gated linear attention.
 */
record DecoderLayer(
        LayerAttention attention,
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
        float[] mlpNorm,
        Projection gate,
        Projection up,
        Projection down) {}
