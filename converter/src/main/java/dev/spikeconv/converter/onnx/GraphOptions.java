package dev.spikeconv.converter.onnx;

/**
 * Variations of the decoder graph.
 *
 * @param fusedSoftmaxAttention full softmax layers run as ONNX Runtime's own {@code com.microsoft}
 *     GroupQueryAttention instead of the standard Attention operator: the fastest dense prefill ONNX Runtime offers on
 *     CPU, but the graph then runs in ONNX Runtime only (the bench's dense baseline uses it; bundles keep standard
 *     operators). The kernel needs a head dimension that is a multiple of 8; other models keep the standard operator
 */
public record GraphOptions(boolean fusedSoftmaxAttention) {
    public static final GraphOptions STANDARD = new GraphOptions(false);

    /** The same graph with full softmax layers as ONNX Runtime's fused attention operator. */
    public GraphOptions withFusedSoftmaxAttention() {
        return new GraphOptions(true);
    }
}
