package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.converter.quantization.Int8Quantizer;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;

/** The decoder's linear layers as graph nodes: float or int8 weights, float or spiking inputs (docs/design.md §4). */
final class ProjectionNodes {
    private final ModelDescription model;
    private final SpikeSettings spike;
    private final OnnxGraphBuilder graph;
    private final GraphWeights weights;
    ProjectionNodes(ModelDescription model, OnnxGraphBuilder graph, GraphWeights weights) {
        this.model = model;
        this.spike = model.config().spike();
        this.graph = graph;
        this.weights = weights;
    }

    /**
     * One projection of {@code [tokens, in]}: float or int8 weights, float or spiking input (docs/design.md §4).
     * Spiking: θ dynamic ({@link SpikeCountNodes#dynamicThreshold}) or static, {@code s = clamp(roundHalfEven(a/θ), ±T)} (named
     * {@link DecoderGraphWriter#spikeCounts} so analysis runs can fetch it), then {@code y = θ (s · W^T) + b}; a threshold
     * per input channel multiplies inside, {@code y = W (θ ⊙ s) + b}. With one int8 scale per weight row the product
     * {@code s · W^T} is the exact integer one of docs/design.md §4 ({@link #integerProduct}); with groups of inputs it is a
     * float GEMM on {@code code * scale} ({@link GraphWeights#dequantized}), which differs from the integer sums per group
     * only by float rounding. Whether the dequantized weights are float constants or computed per run is the session's
     * choice ({@link OnnxRuntimeOptions#foldLimitBytes}).
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
            case SiteThreshold.Dynamic dynamic -> SpikeCountNodes.dynamicThreshold(graph, input, weight.shape().columns(), dynamic.k());
            case SiteThreshold.Static fixed when fixed.perChannel() -> graph.weight(site + ".spike_threshold", fixed.thresholds(), fixed.thresholds().length);
            case SiteThreshold.Static fixed -> graph.scalar(fixed.thresholds()[0]);
        };
        String counts = SpikeCountNodes.counts(graph, input, threshold, spike.timeSteps());
        graph.addNode("Identity", new String[] {counts}, new String[] {DecoderGraphWriter.spikeCounts(site)});
        counts = DecoderGraphWriter.spikeCounts(site);
        if (siteThreshold instanceof SiteThreshold.Static fixed && fixed.perChannel()) {
            // θ differs along the reduction: y = W (θ ⊙ s) + b.
            String scaledCounts = graph.node("Mul", counts, threshold);
            return graph.node("Gemm", bias == null ? new String[] {scaledCounts, floatMatrix(name, weight)} : new String[] {scaledCounts, floatMatrix(name, weight), bias},
                    Attribute.integer("transB", 1));
        }
        String product = weight instanceof ScaledInt8Tensor int8 && groups(int8) == 1
                ? integerProduct(name, int8, counts)
                : graph.node("Gemm", new String[] {counts, floatMatrix(name, weight)}, Attribute.integer("transB", 1));
        String output = graph.node("Mul", product, threshold);
        return bias == null ? output : graph.node("Add", output, bias);
    }

    /** The weight as float {@code [out, in]}: stored floats, or int8 through DequantizeLinear. */
    private String floatMatrix(String name, TensorView weight) throws IOException {
        if (weight instanceof ScaledInt8Tensor int8) {
            return weights.dequantized(name, int8);
        }
        return weights.floatWeight(name);
    }

    private static int groups(ScaledInt8Tensor weight) {
        int inputs = (int) weight.shape().columns();
        return Int8Quantizer.groupsPerRow(inputs, Math.min(weight.groupSize(), inputs));
    }

    /** {@code σ[i] · Σ_j Wq[i,j] s_j} for counts {@code [tokens, in]} and one scale per weight row: the exact integer sums, rounded once and scaled. */
    private String integerProduct(String name, ScaledInt8Tensor weight, String counts) throws IOException {
        String sums = IntegerProductNodes.product(graph, counts, weights.int8Codes(name, weight), (int) weight.shape().columns());
        return graph.node("Mul", sums, weights.scaleColumn(name, weight, 0));
    }
}
