package dev.spikeconv.converter.reference;

import dev.spikeconv.formats.model.LayerAttention;

/** The weights of one pre-norm decoder layer. q/k norms are null unless the model has them. */
record DecoderLayer(
        LayerAttention attention,
        float[] attentionNorm,
        Linear query,
        Linear key,
        Linear value,
        Linear output,
        float[] queryNorm,
        float[] keyNorm,
        float[] mlpNorm,
        Linear gate,
        Linear up,
        Linear down) {}
