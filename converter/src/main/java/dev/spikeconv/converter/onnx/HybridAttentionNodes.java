package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.layers.HybridLayer;
import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import java.io.IOException;

/**
 * Hybrid layers (docs/design.md §4) as graph nodes. The new tokens see the window's cache and each other; the weights of
 * those keys are {@code e^{s - c}} inside a query's window and {@code β ψ·φ(k)} for a key already older than it, and every
 * key older than the cache is in the state {@code U = Σ φ(k)[v, 1]}, read as {@code β ψ U}; one division by the summed
 * weights ends it. The keys that leave the cache in this run are folded into the state, so decode memory stays constant.
 * Decode is the same graph on one token.
 */
final class HybridAttentionNodes {
    private final LayerContext context;
    private final OnnxGraphBuilder graph;
    private final ModelConfig config;
    private final GraphWeights weights;
    private final SoftmaxAttentionNodes softmaxAttention;

    HybridAttentionNodes(LayerContext context, SoftmaxAttentionNodes softmaxAttention) {
        this.context = context;
        this.graph = context.graph();
        this.config = context.config();
        this.weights = context.weights();
        this.softmaxAttention = softmaxAttention;
    }

    /** The layer's attention over the normed input; returns {@code [tokens, heads * d]}. */
    String attention(int layer, String normed, HybridLayer hybrid) throws IOException {
        int heads = config.headCount();
        int kvHeads = config.keyValueHeadCount();
        int group = heads / kvHeads;
        int d = config.headDimension();
        LayerContext.QueryKeyValue projected = context.queryKeyValue(normed, layer);
        String batch = context.batch();
        String sequence = context.sequence();
        // [batch, kv, group, sequence, d] queries; [batch, kv, keys, d] keys and values: the cache, then the new tokens.
        String queryShape = graph.node("Concat", new String[] {graph.int64(0, kvHeads, group), sequence, graph.int64(d)}, Attribute.integer("axis", 0));
        String queries = graph.node("Reshape", softmaxAttention.rotate(projected.query()), queryShape);
        String keys = graph.node("Concat", new String[] {DecoderGraphWriter.pastKey(layer), softmaxAttention.rotate(projected.key())},
                Attribute.integer("axis", 2));
        String values = graph.node("Concat", new String[] {DecoderGraphWriter.pastValue(layer), projected.value()}, Attribute.integer("axis", 2));
        String keyPositions = softmaxAttention.keyPositions(layer, hybrid.slidingWindow());

        // Which keys each new token weighs exactly (its window and the sinks) and which through the features (older ones).
        String causal = softmaxAttention.sees(null, keyPositions);
        String seen = softmaxAttention.sees(hybrid.slidingWindow(), keyPositions);
        String older = graph.node("And", causal, graph.node("Not", seen));

        String transposedKeys = graph.node("Transpose", new String[] {graph.node("Unsqueeze", keys, graph.int64(2))}, Attribute.integers("perm", 0, 1, 2, 4, 3));
        String scores = graph.node("Mul", graph.node("MatMul", queries, transposedKeys), graph.scalar((float) (1 / Math.sqrt(d))));
        String windowScores = graph.node("Where", new String[] {seen, scores, graph.scalar(SoftmaxAttentionNodes.MASKED)});
        String largest = graph.node("ReduceMax", new String[] {windowScores, graph.int64(-1)}, Attribute.integer("keepdims", 1));
        // Keys outside the window sit at the lowest float: their exponentials are 0.
        String exact = graph.node("Exp", graph.node("Sub", windowScores, largest));

        String scales = graph.node("Reshape", weights.floatWeight(LayerTensor.LINEAR_SCALE.name(layer)), graph.int64(1, kvHeads, group, 1, 1));
        String directions = graph.node("Transpose", new String[] {weights.floatWeight(LayerTensor.FEATURE_MAP.name(layer))}, Attribute.integers("perm", 1, 0));
        String biases = weights.floatWeight(LayerTensor.FEATURE_BIAS.name(layer));
        String keyFeatures = features(keys, directions, biases, null);
        String queryFeatures = graph.node("Mul", features(queries, directions, biases, largest), scales);
        String transposedFeatures = graph.node("Transpose", new String[] {graph.node("Unsqueeze", keyFeatures, graph.int64(2))},
                Attribute.integers("perm", 0, 1, 2, 4, 3));
        String linear = graph.node("Where", new String[] {older, graph.node("MatMul", queryFeatures, transposedFeatures), graph.scalar(0f)});

        // Values with a column of ones: one product gives each query's weighted values and the sum of its weights.
        String ones = graph.node("Expand", graph.scalar(1f), graph.node("Concat", new String[] {graph.node("Slice", new String[] {graph.node("Shape", values),
                graph.int64(0), graph.int64(3)}), graph.int64(1)}, Attribute.integer("axis", 0)));
        String valuesAndOnes = graph.node("Concat", new String[] {values, ones}, Attribute.integer("axis", 3));
        String fromKeys = graph.node("MatMul", graph.node("Add", exact, linear), graph.node("Unsqueeze", valuesAndOnes, graph.int64(2)));
        String fromState = graph.node("MatMul", queryFeatures, graph.node("Unsqueeze", DecoderGraphWriter.pastState(layer), graph.int64(2)));
        String sums = graph.node("Add", fromKeys, fromState);
        String weighted = graph.node("Slice", new String[] {sums, graph.int64(0), graph.int64(d), graph.int64(4)});
        String total = graph.node("Slice", new String[] {sums, graph.int64(d), graph.int64(d + 1L), graph.int64(4)});
        String mixed = graph.node("Div", weighted, total);

        // The keys that leave the cache in this run, the sinks excepted, join the state: positions up to end - window.
        String end = graph.node("Add", context.pastLength(), graph.node("Squeeze", sequence, graph.int64(0)));
        String leaving = graph.node("And", graph.node("LessOrEqual", keyPositions, graph.node("Sub", end, graph.int64(true, hybrid.window()))),
                graph.node("GreaterOrEqual", keyPositions, graph.int64(true, hybrid.sinks())));
        String leavingFeatures = graph.node("Where", new String[] {graph.node("Unsqueeze", leaving, graph.int64(1)), keyFeatures, graph.scalar(0f)});
        String added = graph.node("MatMul", graph.node("Transpose", new String[] {leavingFeatures}, Attribute.integers("perm", 0, 1, 3, 2)), valuesAndOnes);
        graph.addNode("Add", new String[] {DecoderGraphWriter.pastState(layer), added}, new String[] {DecoderGraphWriter.presentState(layer)});
        softmaxAttention.keepWindow(hybrid.slidingWindow(), keys, DecoderGraphWriter.presentKey(layer));
        softmaxAttention.keepWindow(hybrid.slidingWindow(), values, DecoderGraphWriter.presentValue(layer));

        String byHeads = graph.node("Reshape", mixed, graph.node("Concat", new String[] {graph.int64(0, heads), sequence, graph.int64(d)},
                Attribute.integer("axis", 0)));
        String tokens = graph.node("Transpose", new String[] {byHeads}, Attribute.integers("perm", 0, 2, 1, 3));
        return graph.node("Reshape", tokens, graph.int64(-1, (long) heads * d));
    }

    /**
     * {@code exp(x̃ Ωᵀ - |x̃|²/2 + b - shift) / √m} for {@code x̃ = x / d^¼} over the last axis ({@code shift} null: none), the
     * positive random features of {@code e^{q·k/√d}}.
     */
    private String features(String x, String directions, String biases, String shift) {
        int d = config.headDimension();
        int m = AttentionKind.HYBRID_FEATURES;
        String scaled = graph.node("Mul", x, graph.scalar((float) Math.pow(d, -0.25)));
        String halfSquares = graph.node("Mul", graph.node("ReduceSumSquare", new String[] {scaled, graph.int64(-1)}, Attribute.integer("keepdims", 1)),
                graph.scalar(0.5f));
        String exponent = graph.node("Add", graph.node("Sub", graph.node("MatMul", scaled, directions), halfSquares), biases);
        if (shift != null) {
            exponent = graph.node("Sub", exponent, shift);
        }
        return graph.node("Mul", graph.node("Exp", exponent), graph.scalar((float) (1 / Math.sqrt(m))));
    }
}
