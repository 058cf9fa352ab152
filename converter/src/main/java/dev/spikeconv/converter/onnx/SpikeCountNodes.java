package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.converter.spiking.SpikeArithmetic;
import dev.spikeconv.formats.onnx.proto.TensorProto;

/** The spike-count rule of {@link SpikeArithmetic} as graph nodes, step for step, so both engines count alike. */
final class SpikeCountNodes {
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final int DOUBLE = TensorProto.DataType.DOUBLE_VALUE;

    private SpikeCountNodes() {}

    /**
     * SpikingBrain's per-token threshold {@code θ = clamp(mean|a| / k, 1e-5, 1e4)} of {@code input [tokens, width]},
     * returned as {@code [tokens, 1]}: {@code Σ|a|} in float64, divided by the width in float64, rounded once to float32,
     * then divided by k in float32. A float64 sum gives the same float32 mean in whatever order ONNX Runtime adds.
     */
    static String dynamicThreshold(OnnxGraphBuilder graph, String input, long width, float k) {
        String magnitudes = graph.node("Cast", new String[] {graph.node("Abs", input)}, Attribute.integer("to", DOUBLE));
        String sum = graph.node("ReduceSum", new String[] {magnitudes, graph.int64(-1)}, Attribute.integer("keepdims", 1));
        String mean = graph.node("Cast", new String[] {graph.node("Div", sum, graph.float64(width))}, Attribute.integer("to", FLOAT));
        return graph.node("Clip", new String[] {graph.node("Div", mean, graph.scalar(k)),
                graph.scalar(SpikeArithmetic.MINIMUM_THRESHOLD), graph.scalar(SpikeArithmetic.MAXIMUM_THRESHOLD)});
    }

    /** {@code clamp(roundHalfEven(a / θ), -T, T)} as float32; ONNX's Round rounds half to even, as {@link Math#rint}. */
    static String counts(OnnxGraphBuilder graph, String input, String threshold, int timeSteps) {
        return graph.node("Clip", new String[] {graph.node("Round", graph.node("Div", input, threshold)), graph.scalar(-timeSteps), graph.scalar(timeSteps)});
    }
}
