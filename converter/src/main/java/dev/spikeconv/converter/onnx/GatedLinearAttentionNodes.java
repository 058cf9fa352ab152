package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.onnx.proto.GraphProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import java.io.IOException;

/**
 * Gated linear attention layers (docs/design.md §4) as graph nodes: the products within chunks for all chunks at once, the
 * state carried across chunks by a Scan; decode is the same graph on one chunk of one token.
 */
final class GatedLinearAttentionNodes {
    /**
     * Tokens per chunk in prefill. Longer chunks mean fewer Scan steps and a longer span for the factored form's bound;
     * all-gla's bench model ran 1024-token calls in 275 ms with 32, 305 with 16 and 285 with 64 (factored form). The
     * pairwise form costs more per token the longer the chunk: 415 ms with 32, where 16 took 355.
     */
    static final int CHUNK = 32;
    /**
     * The factored intra-chunk form runs while every cumulative log-decay within a chunk is at least minus this: then
     * {@code e^{-b} <= e^40 ~ 2e17}, far from float overflow for any key a model produces.
     */
    static final float FACTORED_DECAY_BOUND = 40f;

    private final LayerContext context;
    private final OnnxGraphBuilder graph;
    private final ModelConfig config;
    private final GraphWeights weights;
    private final String sequence;

    GatedLinearAttentionNodes(LayerContext context) {
        this.context = context;
        this.graph = context.graph();
        this.config = context.config();
        this.weights = context.weights();
        this.sequence = context.sequence();
    }

    /**
     * GLA (docs/design.md §4) in chunked form. Within a chunk with cumulative log-decays {@code b}, a query at t
     * sees the carried state as {@code (q ⊙ e^{b_t}) S} and the chunk's earlier keys through
     * {@code Σ_i q_i k_i e^{b_t,i - b_s,i}}; every exponent is at most 0, so no decay can overflow.
     */
    String attention(int layer, String normed) throws IOException {
        LayerContext.QueryKeyValue projected = context.queryKeyValue(normed, layer);
        int heads = config.headCount();
        int kvHeads = config.keyValueHeadCount();
        int d = config.headDimension();
        String query = graph.node("Mul", graph.node("Relu", projected.query()), graph.scalar((float) (1 / Math.sqrt(d))));
        String key = graph.node("Relu", projected.key());
        String value = projected.value();
        String gateDown = graph.node("Gemm", normed, weights.floatWeight(LayerTensor.DECAY_GATE_DOWN_WEIGHT.name(layer)), Attribute.integer("transB", 1));
        String gateLogits = graph.node("Gemm", new String[] {gateDown, weights.floatWeight(LayerTensor.DECAY_GATE_UP_WEIGHT.name(layer)),
                weights.floatWeight(LayerTensor.DECAY_GATE_UP_BIAS.name(layer))}, Attribute.integer("transB", 1));
        String logDecay = context.heads(graph.node("Div", logSigmoid(gateLogits), graph.scalar(config.gateLogitNormalizer())), kvHeads);

        // Chunks of min(sequence, CHUNK) tokens; padding steps have k = v = 0 and decay 1, so they change nothing.
        int group = heads / kvHeads;
        String length = graph.node("Squeeze", sequence, graph.int64(0));
        String chunk = graph.node("Min", length, graph.int64(true, CHUNK));
        String padding = graph.node("Mod", graph.node("Sub", chunk, graph.node("Mod", length, chunk)), chunk);
        String pads = graph.node("Concat", new String[] {graph.int64(0, 0, 0, 0, 0, 0), graph.node("Unsqueeze", padding, graph.int64(0)), graph.int64(0)},
                Attribute.integer("axis", 0));
        String chunkDimension = graph.node("Unsqueeze", chunk, graph.int64(0));
        // [batch, kv, group, chunks, C, d] for queries; [batch, kv, chunks, C, d] for keys, values and log-decays.
        String queryShape = graph.node("Concat", new String[] {graph.int64(0, kvHeads, group, -1), chunkDimension, graph.int64(d)}, Attribute.integer("axis", 0));
        String chunkShape = graph.node("Concat", new String[] {graph.int64(0, kvHeads, -1), chunkDimension, graph.int64(d)}, Attribute.integer("axis", 0));
        String queries = graph.node("Reshape", graph.node("Pad", new String[] {query, pads}), queryShape);
        String keys = graph.node("Reshape", graph.node("Pad", new String[] {key, pads}), chunkShape);
        String values = graph.node("Reshape", graph.node("Pad", new String[] {value, pads}), chunkShape);
        String cumulative = graph.node("CumSum", graph.node("Reshape", graph.node("Pad", new String[] {logDecay, pads}), chunkShape), graph.int64(true, 3));
        // Everything but the state recurrence is computed for all chunks at once; the Scan carries the state only.
        String steps = graph.node("Range", new String[] {graph.int64(true, 0), chunk, graph.int64(true, 1)});
        String causal = graph.node("LessOrEqual", graph.node("Unsqueeze", steps, graph.int64(0)), graph.node("Unsqueeze", steps, graph.int64(1)));
        String exponentials = graph.node("Exp", cumulative);
        String decayedQueries = graph.node("Mul", queries, graph.node("Unsqueeze", exponentials, graph.int64(2)));
        // Intra-chunk: scores[t, s] = Σ_i q_t,i k_s,i exp(b_t,i - b_s,i) for s <= t. Factored as (q_t ⊙ e^{b_t}) · (k_s ⊙ e^{-b_s})
        // it is one small product per chunk, exact while e^{-b} stays far from overflow; past that bound the pairwise form.
        String bounded = graph.node("GreaterOrEqual", graph.node("ReduceMin", new String[] {cumulative}, Attribute.integer("keepdims", 0)),
                graph.scalar(-FACTORED_DECAY_BOUND));
        String scores = graph.node("If", new String[] {bounded},
                Attribute.graph("then_branch", factoredScores(decayedQueries, keys, exponentials, causal)),
                Attribute.graph("else_branch", pairwiseScores(queries, keys, cumulative, causal)));
        String withinChunks = graph.node("MatMul", scores, graph.node("Unsqueeze", values, graph.int64(2)));
        // What each chunk reads from the state before it, (q ⊙ e^{b_t}) S, and adds to it: S' = diag(e^{b_last}) S + Σ_s (k_s ⊙ e^{b_last - b_s})ᵀ v_s.
        String last = graph.node("Slice", new String[] {cumulative, graph.int64(-1), graph.int64(Long.MAX_VALUE), graph.int64(3)});
        String keptRows = graph.node("Transpose", new String[] {graph.node("Exp", last)}, Attribute.integers("perm", 0, 1, 2, 4, 3));
        String decayedKeys = graph.node("Mul", keys, graph.node("Exp", graph.node("Sub", last, cumulative)));
        String added = graph.node("MatMul", graph.node("Transpose", new String[] {decayedKeys}, Attribute.integers("perm", 0, 1, 2, 4, 3)), values);
        String[] outputs = new String[] {DecoderGraphWriter.presentState(layer), graph.newName("gla_from_state")};
        graph.addNode("Scan", new String[] {DecoderGraphWriter.pastState(layer), graph.node("Transpose", new String[] {decayedQueries}, Attribute.integers("perm", 3, 0, 1, 2, 4, 5)),
                graph.node("Transpose", new String[] {keptRows}, Attribute.integers("perm", 2, 0, 1, 3, 4)),
                graph.node("Transpose", new String[] {added}, Attribute.integers("perm", 2, 0, 1, 3, 4))}, outputs,
                Attribute.graph("body", glaStateBody()), Attribute.integer("num_scan_inputs", 3));
        String fromState = graph.node("Transpose", new String[] {outputs[1]}, Attribute.integers("perm", 1, 2, 3, 0, 4, 5));
        String flat = graph.node("Reshape", graph.node("Add", fromState, withinChunks), graph.int64(0, heads, -1, d));
        String output = graph.node("Slice", new String[] {flat, graph.int64(0), sequence, graph.int64(2)});
        String normalized = context.rmsNorm(output, weights.floatWeight(LayerTensor.HEAD_OUTPUT_NORM.name(layer)));
        String tokens = graph.node("Transpose", new String[] {normalized}, Attribute.integers("perm", 0, 2, 1, 3));
        return graph.node("Reshape", tokens, graph.int64(-1, (long) heads * d));
    }

    /**
     * Intra-chunk scores {@code [batch, kv, group, chunks, C, C]} as one product of decayed queries and inversely decayed keys,
     * zero for future keys. Each score is a sum of non-negative terms (q and k are ReLU outputs), so the factored form
     * loses no precision to cancellation; the bound on {@code -b} keeps {@code e^{-b}} finite.
     */
    private GraphProto factoredScores(String decayedQueries, String keys, String exponentials, String causal) {
        OnnxGraphBuilder branch = graph.subgraph("gla_factored_scores");
        String scores = branch.newName("factored_scores");
        String inverselyDecayedKeys = branch.node("Div", keys, exponentials);
        // Transposed right before the product, ONNX Runtime fuses the transpose into the matrix product.
        String transposed = branch.node("Transpose", new String[] {branch.node("Unsqueeze", inverselyDecayedKeys, branch.int64(2))},
                Attribute.integers("perm", 0, 1, 2, 3, 5, 4));
        String products = branch.node("MatMul", decayedQueries, transposed);
        // Future keys' scores carry e^{b_t - b_s} <= e^{bound}: large but finite, and replaced by 0.
        branch.addNode("Where", new String[] {causal, products, branch.scalar(0f)}, new String[] {scores});
        branch.output(scores, TensorProto.DataType.FLOAT, 6);
        return branch.graph();
    }

    /**
     * Intra-chunk scores with each pair's decay {@code exp(b_t,i - b_s,i)} taken on its own: every exponent of a past key is
     * at most 0 whatever the gates, at the price of a {@code [chunks, C, C, d]} tensor.
     */
    private GraphProto pairwiseScores(String queries, String keys, String cumulative, String causal) {
        OnnxGraphBuilder branch = graph.subgraph("gla_pairwise_scores");
        String scores = branch.newName("pairwise_scores");
        String differences = branch.node("Sub", branch.node("Unsqueeze", cumulative, branch.int64(4)), branch.node("Unsqueeze", cumulative, branch.int64(3)));
        // Future keys (s > t) have positive exponents, possibly overflowing to infinity: their scores are computed and then
        // replaced by 0 after the sum over channels (Where never reads the unselected value), on a d times smaller tensor.
        String decays = branch.node("Exp", differences);
        String products = branch.node("Mul", branch.node("Mul", branch.node("Unsqueeze", queries, branch.int64(5)), branch.node("Unsqueeze", keys, branch.int64(2, 4))),
                branch.node("Unsqueeze", decays, branch.int64(2)));
        branch.addNode("Where", new String[] {causal, branch.node("ReduceSum", new String[] {products, branch.int64(-1)}, Attribute.integer("keepdims", 0)),
                branch.scalar(0f)}, new String[] {scores});
        branch.output(scores, TensorProto.DataType.FLOAT, 6);
        return branch.graph();
    }

    /**
     * The body of the GLA Scan, one chunk: reads the carried state {@code [batch, kv, d, d]} through the chunk's decayed
     * queries {@code [batch, kv, group, C, d]} and updates it with the chunk's row decays and key-value sum.
     */
    private GraphProto glaStateBody() {
        OnnxGraphBuilder body = graph.subgraph("gla_chunk");
        body.input("state_in", TensorProto.DataType.FLOAT, 4);
        body.input("decayed_query_chunk", TensorProto.DataType.FLOAT, 5);
        body.input("kept_rows_chunk", TensorProto.DataType.FLOAT, 4);
        body.input("added_chunk", TensorProto.DataType.FLOAT, 4);
        String fromState = body.node("MatMul", "decayed_query_chunk", body.node("Unsqueeze", "state_in", body.int64(2)));
        body.addNode("Add", new String[] {body.node("Mul", "state_in", "kept_rows_chunk"), "added_chunk"}, new String[] {"state_out"});
        body.addNode("Identity", new String[] {fromState}, new String[] {"from_state_chunk"});
        body.output("state_out", TensorProto.DataType.FLOAT, 4);
        body.output("from_state_chunk", TensorProto.DataType.FLOAT, 5);
        return body.graph();
    }

    /** {@code log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|))}, stable for any x. */
    private String logSigmoid(String x) {
        String softTail = graph.node("Log", graph.node("Add", graph.scalar(1f), graph.node("Exp", graph.node("Neg", graph.node("Abs", x)))));
        return graph.node("Sub", graph.node("Min", x, graph.scalar(0f)), softTail);
    }
}
