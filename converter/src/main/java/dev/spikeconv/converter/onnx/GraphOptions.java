package dev.spikeconv.converter.onnx;

/**
 * Variations of the decoder graph.
 *
 * @param withoutGatedLinearAttention drops the attention branch of every GLA layer (the baseline verify compares a
 *     hybrid against: a model that ignored its linear branch would do as well)
 * @param fusedSoftmaxAttention full softmax layers run as ONNX Runtime's own {@code com.microsoft}
 *     GroupQueryAttention instead of the standard Attention operator: the fastest dense prefill ONNX Runtime offers on
 *     CPU, but the graph then runs in ONNX Runtime only (the bench's dense baseline uses it; bundles keep standard
 *     operators). The kernel needs a head dimension that is a multiple of 8; other models keep the standard operator
 */
public record GraphOptions(boolean withoutGatedLinearAttention, boolean fusedSoftmaxAttention) {
    public static final GraphOptions STANDARD = new GraphOptions(false, false);

    /** The same graph without the GLA layers' attention branch. */
    public GraphOptions droppingGatedLinearAttention() {
        return new GraphOptions(true, fusedSoftmaxAttention);
    }

    /** The same graph with full softmax layers as ONNX Runtime's fused attention operator. */
    public GraphOptions withFusedSoftmaxAttention() {
        return new GraphOptions(withoutGatedLinearAttention, true);
    }
}
