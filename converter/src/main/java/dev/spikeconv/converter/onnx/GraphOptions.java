package dev.spikeconv.converter.onnx;

/**
 * Variations of the decoder graph.
 *
 * @param withoutGatedLinearAttention drops the attention branch of every GLA layer (the baseline verify compares a
 *     hybrid against: a model that ignored its linear branch would do as well)
 * @param floatWeightLimitBytes int8 weights are folded into float32 constants when ONNX Runtime loads the graph (one
 *     float GEMM per projection) while they need at most this many bytes as floats; beyond it they stay int8 in
 *     memory (MatMulInteger per input group for spiking projections, DequantizeLinear on every run otherwise), slower
 *     but 4× smaller. Spiking projections with one scale per row are integer products whatever the limit (faster)
 * @param fusedSoftmaxAttention full softmax layers run as ONNX Runtime's own {@code com.microsoft}
 *     GroupQueryAttention instead of the standard Attention operator: the fastest dense prefill ONNX Runtime offers on
 *     CPU, but the graph then runs in ONNX Runtime only (the bench's dense baseline uses it; bundles keep standard
 *     operators). The kernel needs a head dimension that is a multiple of 8; other models keep the standard operator
 */
public record GraphOptions(boolean withoutGatedLinearAttention, long floatWeightLimitBytes, boolean fusedSoftmaxAttention) {
    /** 4 GiB of float weights: about a billion int8 parameters. */
    public static final long DEFAULT_FLOAT_WEIGHT_LIMIT = 4L << 30;
    public static final GraphOptions STANDARD = new GraphOptions(false, DEFAULT_FLOAT_WEIGHT_LIMIT, false);

    public GraphOptions {
        if (floatWeightLimitBytes < 0) {
            throw new IllegalArgumentException("the float weight limit must not be negative");
        }
    }

    /** The same graph without the GLA layers' attention branch. */
    public GraphOptions droppingGatedLinearAttention() {
        return new GraphOptions(true, floatWeightLimitBytes, fusedSoftmaxAttention);
    }

    /** The same graph with full softmax layers as ONNX Runtime's fused attention operator. */
    public GraphOptions withFusedSoftmaxAttention() {
        return new GraphOptions(withoutGatedLinearAttention, floatWeightLimitBytes, true);
    }
}
