package dev.spikeconv.converter.onnx;

/**
 * Variations of the decoder graph for analysis: {@code withoutGatedLinearAttention} drops the attention
 * branch of every GLA layer (the baseline verify compares a hybrid against: a model that ignored its
 * linear branch would do as well).
 */
public record GraphOptions(boolean withoutGatedLinearAttention) {
    public static final GraphOptions STANDARD = new GraphOptions(false);
}
