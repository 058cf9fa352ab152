package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeArithmetic;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;

/** The decoder's linear layers as graph nodes: float or int8 weights, float or spiking inputs (DESIGN §4). */
final class ProjectionNodes {
    private static final int INT8 = TensorProto.DataType.INT8_VALUE;
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;

    private final ModelDescription model;
    private final SpikeSettings spike;
    private final OnnxGraphBuilder graph;
    private final GraphWeights weights;
    /** int8 weights become float constants when ONNX Runtime loads the graph (fast GEMM), unless that would exceed the options' limit. */
    private final boolean floatWeights;

    ProjectionNodes(ModelDescription model, OnnxGraphBuilder graph, GraphWeights weights, GraphOptions options) {
        this.model = model;
        this.spike = model.config().spike();
        this.graph = graph;
        this.weights = weights;
        long int8Parameters = model.tensors().values().stream().filter(ScaledInt8Tensor.class::isInstance).mapToLong(tensor -> tensor.shape().elementCount()).sum();
        this.floatWeights = int8Parameters * Float.BYTES <= options.floatWeightLimitBytes();
    }

    /**
     * One projection of {@code [tokens, in]}: float or int8 weights, float or spiking input (DESIGN §4).
     * Spiking: θ dynamic ({@code clamp(mean|a|/k, 1e-5, 1e4)} per token) or static, {@code s = clamp(round(a/θ), ±T)},
     * then {@code y = θ (s · W^T) + b} with int8 weights as {@code code * scale} (see {@link GraphWeights#dequantized}): the integer
     * products of DESIGN §4 in float, which differs from the reference's int32 sums only by float rounding (or, past the
     * float-weight limit, in int32 with {@link #integerProduct});
     * a threshold per input channel multiplies inside, {@code y = W (θ ⊙ s) + b}.
     */
    String projection(String input, int layer, LayerTensor weightTensor, LayerTensor biasTensor) throws IOException {
        String name = weightTensor.name(layer);
        String site = name.substring(0, name.length() - ".weight".length());
        TensorView weight = model.tensor(name);
        String bias = model.tensors().containsKey(biasTensor.name(layer)) ? weights.floatWeight(biasTensor.name(layer)) : null;
        graph.addNode("Identity", new String[] {input}, new String[] {DecoderGraphWriter.projectionInput(site)});
        input = DecoderGraphWriter.projectionInput(site);
        String matrix = weight instanceof ScaledInt8Tensor int8 ? (floatWeights ? weights.dequantized(name, int8) : weights.dequantizedPerRun(name, int8)) : weights.floatWeight(name);
        if (!spike.spikes(site)) {
            return graph.node("Gemm", bias == null ? new String[] {input, matrix} : new String[] {input, matrix, bias}, Attribute.integer("transB", 1));
        }
        SiteThreshold siteThreshold = SpikeSites.threshold(model, site);
        String threshold = switch (siteThreshold) {
            case SiteThreshold.Dynamic dynamic -> {
                String meanMagnitude = graph.node("ReduceMean", new String[] {graph.node("Abs", input), graph.int64(-1)}, Attribute.integer("keepdims", 1));
                yield graph.node("Clip", new String[] {graph.node("Div", meanMagnitude, graph.scalar(dynamic.k())),
                        graph.scalar(SpikeArithmetic.MINIMUM_THRESHOLD), graph.scalar(SpikeArithmetic.MAXIMUM_THRESHOLD)});
            }
            case SiteThreshold.Static fixed when fixed.perChannel() -> graph.weight(site + ".spike_threshold", fixed.thresholds(), fixed.thresholds().length);
            case SiteThreshold.Static fixed -> graph.scalar(fixed.thresholds()[0]);
        };
        String counts = graph.node("Clip", new String[] {graph.node("Round", graph.node("Div", input, threshold)),
                graph.scalar(-spike.timeSteps()), graph.scalar(spike.timeSteps())});
        if (siteThreshold instanceof SiteThreshold.Static fixed && fixed.perChannel()) {
            // θ differs along the reduction: y = W (θ ⊙ s) + b.
            String scaledCounts = graph.node("Mul", counts, threshold);
            return graph.node("Gemm", bias == null ? new String[] {scaledCounts, matrix} : new String[] {scaledCounts, matrix, bias},
                    Attribute.integer("transB", 1));
        }
        String product = weight instanceof ScaledInt8Tensor int8 && !floatWeights
                ? integerProduct(name, int8, counts)
                : graph.node("Gemm", new String[] {counts, matrix}, Attribute.integer("transB", 1));
        String output = graph.node("Mul", product, threshold);
        return bias == null ? output : graph.node("Add", output, bias);
    }

    /**
     * {@code Σ_G σ[i,G] Σ_{j∈G} Wq[i,j] s_j} for counts {@code [tokens, in]}, returns {@code [tokens, out]}: int8 weights
     * stay int8 in memory (MatMulInteger per group), for models whose float weights would not fit.
     */
    private String integerProduct(String name, ScaledInt8Tensor weight, String counts) throws IOException {
        int outputs = (int) weight.shape().dimension(0);
        int inputs = (int) weight.shape().dimension(1);
        int group = Math.min(weight.groupSize(), inputs);
        int groups = (inputs + group - 1) / group;
        if (groups == 1) {
            String spikes = graph.node("Cast", new String[] {graph.node("Transpose", new String[] {counts}, Attribute.integers("perm", 1, 0))}, Attribute.integer("to", INT8));
            String accumulated = graph.node("Cast", new String[] {graph.node("MatMulInteger", weights.int8Codes(name, weight), spikes)}, Attribute.integer("to", FLOAT));
            String scaled = graph.node("Mul", accumulated, weights.floatWeight(name + "_scale", weight.scales()));
            return graph.node("Transpose", new String[] {scaled}, Attribute.integers("perm", 1, 0));
        }
        int padding = groups * group - inputs;
        String padded = padding == 0 ? counts : graph.node("Pad", new String[] {counts, graph.int64(0, 0, 0, padding)});
        String byGroup = graph.node("Transpose", new String[] {graph.node("Reshape", padded, graph.int64(-1, groups, group))}, Attribute.integers("perm", 1, 2, 0));
        String spikes = graph.node("Cast", new String[] {byGroup}, Attribute.integer("to", INT8));
        String accumulated = graph.node("Cast", new String[] {graph.node("MatMulInteger", weights.groupedCodes(name, weight, groups, group), spikes)}, Attribute.integer("to", FLOAT));
        String scaled = graph.node("Mul", accumulated, weights.groupedScales(name, weight, outputs, groups));
        String summed = graph.node("ReduceSum", new String[] {scaled, graph.int64(0)}, Attribute.integer("keepdims", 0));
        return graph.node("Transpose", new String[] {summed}, Attribute.integers("perm", 1, 0));
    }
}
