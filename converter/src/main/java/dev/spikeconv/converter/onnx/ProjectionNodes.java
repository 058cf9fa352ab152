package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.converter.quantization.Int8Quantizer;
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
    private static final int UINT8 = TensorProto.DataType.UINT8_VALUE;
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
     * then {@code y = θ (s · W^T) + b}; a threshold per input channel multiplies inside, {@code y = W (θ ⊙ s) + b}.
     * With int8 weights the product {@code s · W^T} is the integer one of DESIGN §4 ({@link #integerProduct}) where that
     * is the faster form or float weights would not fit, otherwise a float GEMM on {@code code * scale}
     * ({@link GraphWeights#dequantized}), which differs from the integer sums only by float rounding.
     */
    String projection(String input, int layer, LayerTensor weightTensor, LayerTensor biasTensor) throws IOException {
        String name = weightTensor.name(layer);
        String site = name.substring(0, name.length() - ".weight".length());
        TensorView weight = model.tensor(name);
        String bias = model.tensors().containsKey(biasTensor.name(layer)) ? weights.floatWeight(biasTensor.name(layer)) : null;
        graph.addNode("Identity", new String[] {input}, new String[] {DecoderGraphWriter.projectionInput(site)});
        input = DecoderGraphWriter.projectionInput(site);
        if (!spike.spikes(site)) {
            return graph.node("Gemm", bias == null ? new String[] {input, floatMatrix(name, weight)} : new String[] {input, floatMatrix(name, weight), bias},
                    Attribute.integer("transB", 1));
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
            return graph.node("Gemm", bias == null ? new String[] {scaledCounts, floatMatrix(name, weight)} : new String[] {scaledCounts, floatMatrix(name, weight), bias},
                    Attribute.integer("transB", 1));
        }
        String product = weight instanceof ScaledInt8Tensor int8 && (!floatWeights || groups(int8) == 1)
                ? integerProduct(name, int8, counts)
                : graph.node("Gemm", new String[] {counts, floatMatrix(name, weight)}, Attribute.integer("transB", 1));
        String output = graph.node("Mul", product, threshold);
        return bias == null ? output : graph.node("Add", output, bias);
    }

    /** The weight as float {@code [out, in]}: stored floats, or int8 folded to floats at load, or dequantized per run past the limit. */
    private String floatMatrix(String name, TensorView weight) throws IOException {
        if (weight instanceof ScaledInt8Tensor int8) {
            return floatWeights ? weights.dequantized(name, int8) : weights.dequantizedPerRun(name, int8);
        }
        return weights.floatWeight(name);
    }

    private static int groups(ScaledInt8Tensor weight) {
        int inputs = (int) weight.shape().columns();
        return Int8Quantizer.groupsPerRow(inputs, Math.min(weight.groupSize(), inputs));
    }

    /**
     * {@code Σ_G σ[i,G] Σ_{j∈G} Wq[i,j] s_j} for counts {@code [tokens, in]}, returns {@code [tokens, out]}: one
     * MatMulInteger per input group, exact int32 sums, each scaled by its group's column of σ, summed in one pass.
     * Both operands are uint8 with zero point 128 (counts {@code s + 128}, codes {@code Wq + 128}): ONNX Runtime's u8×u8
     * kernels widen to 16 bits before multiplying (its u8×s8 ones may saturate 16-bit pair sums without VNNI) and, measured
     * on this AVX-512 VNNI machine for {@code [1024, 512] × [512, 1536]} on 2 threads, 2.0 ms against 4.4 ms for the
     * float GEMM and 20 ms for int8 counts (ONNX Runtime has no fast signed × signed kernel for x86). Per input group of
     * 128 the scaling passes eat the gain (4 groups: 4.8 ms), so grouped weights keep the float GEMM while their floats
     * fit, and come here otherwise (int8 stays int8 in memory).
     */
    private String integerProduct(String name, ScaledInt8Tensor weight, String counts) throws IOException {
        int inputs = (int) weight.shape().columns();
        int group = Math.min(weight.groupSize(), inputs);
        int groups = groups(weight);
        String zeroPoint = graph.uint8(GraphWeights.ZERO_POINT);
        String spikes = graph.node("Cast", new String[] {graph.node("Add", counts, graph.scalar(GraphWeights.ZERO_POINT))}, Attribute.integer("to", UINT8));
        String[] parts = {spikes};
        if (groups > 1) {
            long[] sizes = new long[groups];
            for (int index = 0; index < groups; index++) {
                sizes[index] = Math.min(group, inputs - (long) index * group);
            }
            parts = graph.nodes("Split", groups, new String[] {spikes, graph.int64(sizes)}, Attribute.integer("axis", 1));
        }
        String[] terms = new String[groups];
        for (int index = 0; index < groups; index++) {
            int from = index * group;
            String codes = weights.unsignedCodeColumns(name, weight, from, Math.min(inputs, from + group));
            String accumulated = graph.node("Cast", new String[] {graph.node("MatMulInteger", new String[] {parts[index], codes, zeroPoint, zeroPoint})}, Attribute.integer("to", FLOAT));
            terms[index] = graph.node("Mul", accumulated, weights.scaleColumn(name, weight, index));
        }
        return groups == 1 ? terms[0] : graph.node("Sum", terms);
    }
}
