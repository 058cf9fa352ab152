package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import java.io.IOException;

/**
 * What every layer's nodes are built from: the graph, the model's configuration, weights and projections, and the
 * values describing the tokens of a run.
 *
 * @param batch {@code [1]} int64: sequences in the batch
 * @param sequence {@code [1]} int64: new tokens per sequence
 * @param pastLength int64 scalar: positions already in the caches
 * @param positions {@code [sequence]} int64: the new tokens' positions
 */
record LayerContext(OnnxGraphBuilder graph, ModelConfig config, GraphWeights weights, ProjectionNodes projections,
        String batch, String sequence, String pastLength, String positions) {

    /** A layer's attention inputs, each {@code [batch, heads, sequence, d]}. */
    record QueryKeyValue(String query, String key, String value) {}

    /** The layer's query, key and value projections split into heads; query and key normalized when the model has QK-norm. */
    QueryKeyValue queryKeyValue(String normed, int layer) throws IOException {
        String query = heads(projections.projection(normed, layer, LayerTensor.QUERY_WEIGHT, LayerTensor.QUERY_BIAS), config.headCount());
        String key = heads(projections.projection(normed, layer, LayerTensor.KEY_WEIGHT, LayerTensor.KEY_BIAS), config.keyValueHeadCount());
        String value = heads(projections.projection(normed, layer, LayerTensor.VALUE_WEIGHT, LayerTensor.VALUE_BIAS), config.keyValueHeadCount());
        if (config.qkNorm()) {
            query = rmsNorm(query, weights.floatWeight(LayerTensor.QUERY_NORM.name(layer)));
            key = rmsNorm(key, weights.floatWeight(LayerTensor.KEY_NORM.name(layer)));
        }
        return new QueryKeyValue(query, key, value);
    }

    /** {@code [tokens, heads * d]} to {@code [batch, heads, sequence, d]}. */
    String heads(String projection, int headCount) {
        String shape = graph.node("Concat", new String[] {batch, sequence, graph.int64(headCount, config.headDimension())}, Attribute.integer("axis", 0));
        return graph.node("Transpose", new String[] {graph.node("Reshape", projection, shape)}, Attribute.integers("perm", 0, 2, 1, 3));
    }

    /** RMSNorm over the last axis: {@code x / sqrt(mean(x^2) + eps) * w}. */
    String rmsNorm(String x, String weight) {
        String meanSquare = graph.node("ReduceMean", new String[] {graph.node("Mul", x, x), graph.int64(-1)}, Attribute.integer("keepdims", 1));
        String inverse = graph.node("Reciprocal", graph.node("Sqrt", graph.node("Add", meanSquare, graph.scalar((float) config.normEpsilon()))));
        return graph.node("Mul", graph.node("Mul", x, inverse), weight);
    }
}
