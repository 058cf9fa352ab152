package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.RotaryFrequencies;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Softmax and sliding-window attention layers (docs/design.md §4) as graph nodes: rotary positions, the cache (trimmed to the
 * sinks and the last {@code window - 1} positions for a window, so decode memory stays constant) and the masks. Hybrid
 * layers rotate, position and trim their window's cache with the same nodes.
 */
final class SoftmaxAttentionNodes {
    /** The score of a key a query does not see: its exponential is 0. */
    static final float MASKED = -Float.MAX_VALUE;
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;

    private final LayerContext context;
    private final OnnxGraphBuilder graph;
    private final ModelConfig config;
    private final GraphOptions options;
    private final String batch;
    private final String sequence;
    private final String pastLength;
    private final String positions;
    /** Additive attention masks by attention kind, window and sinks. */
    private final Map<String, String> masks = new HashMap<>();
    /** cos and sin of the rotary angles, {@code [1, 1, sequence, head_dim]}. */
    private final String cos;
    private final String sin;

    SoftmaxAttentionNodes(LayerContext context, GraphOptions options) {
        this.context = context;
        this.graph = context.graph();
        this.config = context.config();
        this.options = options;
        this.batch = context.batch();
        this.sequence = context.sequence();
        this.pastLength = context.pastLength();
        this.positions = context.positions();
        String angles = rotaryAngles();
        String axes = graph.int64(0, 1);
        this.cos = graph.node("Unsqueeze", graph.node("Cos", angles), axes);
        this.sin = graph.node("Unsqueeze", graph.node("Sin", angles), axes);
    }

    /** Softmax attention over the cache and the new tokens, within {@code window} unless it is null; returns {@code [tokens, heads * d]}. */
    String attention(int layer, String normed, SlidingWindowLayer window) throws IOException {
        LayerContext.QueryKeyValue projected = context.queryKeyValue(normed, layer);
        int heads = config.headCount();
        int d = config.headDimension();
        String query = rotate(projected.query());
        String key = rotate(projected.key());
        String value = projected.value();
        // ONNX Runtime's kernel takes head dimensions that are multiples of 8; others keep the standard operators.
        if (window == null && options.fusedSoftmaxAttention() && d % 8 == 0) {
            return fused(layer, query, key, value);
        }
        // Layers of the same attention kind and window see the same key positions (their caches are trimmed alike): one mask serves them all.
        String mask = masks.computeIfAbsent(String.valueOf(window), unused -> mask(window, keyPositions(layer, window)));
        // ONNX's Attention (opset 23) appends the new keys and values to the cache, shares key/value heads without
        // copies, scales by 1/sqrt(d), adds the mask and applies the softmax in one kernel: no separate pass over the
        // [heads, tokens, keys] scores for each step.
        String[] outputs = graph.nodes("Attention", 3, new String[] {query, key, value, mask, DecoderGraphWriter.pastKey(layer), DecoderGraphWriter.pastValue(layer)});
        if (window == null) {
            graph.addNode("Identity", new String[] {outputs[1]}, new String[] {DecoderGraphWriter.presentKey(layer)});
            graph.addNode("Identity", new String[] {outputs[2]}, new String[] {DecoderGraphWriter.presentValue(layer)});
        }
        else {
            keepWindow(window, outputs[1], DecoderGraphWriter.presentKey(layer));
            keepWindow(window, outputs[2], DecoderGraphWriter.presentValue(layer));
        }
        String context = graph.node("Transpose", new String[] {outputs[0]}, Attribute.integers("perm", 0, 2, 1, 3));
        return graph.node("Reshape", context, graph.int64(-1, (long) heads * d));
    }

    /**
     * Causal softmax attention as ONNX Runtime's GroupQueryAttention: one kernel for the scores, the mask, the softmax
     * and the weighted values, key/value heads shared without copies, the cache appended inside. It takes heads
     * flattened per token ({@code [batch, sequence, heads * d]}) and caches as {@code [batch, kv heads, length, d]}.
     */
    private String fused(int layer, String query, String key, String value) {
        int heads = config.headCount();
        int kvHeads = config.keyValueHeadCount();
        int d = config.headDimension();
        String totalLength = graph.node("Add", pastLength, graph.node("Squeeze", sequence, graph.int64(0)));
        String total = graph.node("Cast", new String[] {totalLength}, Attribute.integer("to", TensorProto.DataType.INT32_VALUE));
        // The last position each sequence attends to; every sequence of a batch has the same length here.
        String lastPositions = graph.node("Cast", new String[] {graph.node("Expand", graph.node("Sub", totalLength, graph.int64(true, 1)), batch)},
                Attribute.integer("to", TensorProto.DataType.INT32_VALUE));
        String[] outputs = graph.nodesInDomain(OnnxGraphBuilder.MICROSOFT_DOMAIN, "GroupQueryAttention", 3,
                new String[] {tokensByHeads(query, heads * d), tokensByHeads(key, kvHeads * d), tokensByHeads(value, kvHeads * d),
                        DecoderGraphWriter.pastKey(layer), DecoderGraphWriter.pastValue(layer), lastPositions, total},
                Attribute.integer("num_heads", heads), Attribute.integer("kv_num_heads", kvHeads));
        graph.addNode("Identity", new String[] {outputs[1]}, new String[] {DecoderGraphWriter.presentKey(layer)});
        graph.addNode("Identity", new String[] {outputs[2]}, new String[] {DecoderGraphWriter.presentValue(layer)});
        return graph.node("Reshape", outputs[0], graph.int64(-1, (long) heads * d));
    }

    /** {@code [batch, heads, sequence, d]} as {@code [batch, sequence, heads * d]}. */
    private String tokensByHeads(String x, long width) {
        String transposed = graph.node("Transpose", new String[] {x}, Attribute.integers("perm", 0, 2, 1, 3));
        return graph.node("Reshape", transposed, graph.node("Concat", new String[] {batch, sequence, graph.int64(width)}, Attribute.integer("axis", 0)));
    }

    /** Positions of the keys a layer's queries see: its cache (every earlier position, or a window's) followed by the new tokens. */
    String keyPositions(int layer, SlidingWindowLayer window) {
        if (window == null) {
            return graph.node("Range", new String[] {graph.int64(true, 0), graph.node("Add", pastLength, graph.node("Squeeze", sequence, graph.int64(0))),
                    graph.int64(true, 1)});
        }
        return windowKeyPositions(window, graph.node("Squeeze",
                graph.node("Slice", new String[] {graph.node("Shape", DecoderGraphWriter.pastKey(layer)), graph.int64(2), graph.int64(3)}), graph.int64(0)));
    }

    /**
     * Positions of the cached keys followed by the new ones. The cache holds the first
     * {@code min(sinks, cached)} positions, then the most recent ones up to {@code past_sequence_length}.
     */
    private String windowKeyPositions(SlidingWindowLayer attention, String cachedLength) {
        String sinkCount = graph.node("Min", graph.int64(true, attention.sinks()), cachedLength);
        String sinks = graph.node("Range", new String[] {graph.int64(true, 0), sinkCount, graph.int64(true, 1)});
        String recentStart = graph.node("Sub", pastLength, graph.node("Sub", cachedLength, sinkCount));
        String recent = graph.node("Range", new String[] {recentStart, pastLength, graph.int64(true, 1)});
        return graph.node("Concat", new String[] {sinks, recent, positions}, Attribute.integer("axis", 0));
    }

    /** The next cache: the first {@code sinks} entries and the last {@code window - 1}, in position order. */
    void keepWindow(SlidingWindowLayer attention, String all, String present) {
        String total = graph.node("Slice", new String[] {graph.node("Shape", all), graph.int64(2), graph.int64(3)});
        if (attention.sinks() == 0) {
            // One copy of the cache instead of two (a slice, then a concatenation with no sinks).
            String recentStart = graph.node("Max", graph.int64(0), graph.node("Sub", total, graph.int64(attention.window() - 1L)));
            graph.addNode("Slice", new String[] {all, recentStart, total, graph.int64(2)}, new String[] {present});
            return;
        }
        String sinkEnd = graph.node("Min", graph.int64(attention.sinks()), total);
        String recentStart = graph.node("Max", sinkEnd, graph.node("Sub", total, graph.int64(attention.window() - 1L)));
        String axis = graph.int64(2);
        String sinks = graph.node("Slice", new String[] {all, graph.int64(0), sinkEnd, axis});
        String recent = graph.node("Slice", new String[] {all, recentStart, total, axis});
        graph.addNode("Concat", new String[] {sinks, recent}, new String[] {present}, Attribute.integer("axis", 2));
    }

    /** Additive mask {@code [sequence, keys]}: 0 where a query sees a key ({@link #sees}), the lowest float elsewhere. */
    private String mask(SlidingWindowLayer window, String keyPositions) {
        return graph.node("Where", new String[] {sees(window, keyPositions), graph.scalar(0f), graph.scalar(MASKED)});
    }

    /**
     * Whether each new token sees each key, {@code [sequence, keys]}: causal, and within the window or a sink when there is
     * one: {@link SlidingWindowLayer#seesKey} as graph nodes.
     */
    String sees(SlidingWindowLayer window, String keyPositions) {
        String keysRow = graph.node("Unsqueeze", keyPositions, graph.int64(0));
        String queriesColumn = graph.node("Unsqueeze", positions, graph.int64(1));
        String allowed = graph.node("LessOrEqual", keysRow, queriesColumn);
        if (window != null) {
            String inWindow = graph.node("Greater", keysRow, graph.node("Sub", queriesColumn, graph.int64(true, window.window())));
            String sink = graph.node("Less", keysRow, graph.int64(true, window.sinks()));
            allowed = graph.node("And", allowed, graph.node("Or", inWindow, sink));
        }
        return allowed;
    }

    /** {@code position * inverseFrequency}, {@code [sequence, head_dim]}, in the rotate-half layout (the frequencies twice). */
    private String rotaryAngles() {
        float[] inverse = RotaryFrequencies.inverseFrequencies(config);
        String frequencies = graph.float32(inverse, 1, inverse.length);
        String angles = graph.node("Mul", graph.node("Unsqueeze", graph.node("Cast", new String[] {positions}, Attribute.integer("to", FLOAT)), graph.int64(1)), frequencies);
        return graph.node("Concat", new String[] {angles, angles}, Attribute.integer("axis", 1));
    }

    /** Rotate-half RoPE: {@code x * cos + [-x2, x1] * sin}. */
    String rotate(String x) {
        String[] halves = graph.nodes("Split", 2, new String[] {x}, Attribute.integer("axis", -1), Attribute.integer("num_outputs", 2));
        String rotated = graph.node("Concat", new String[] {graph.node("Neg", halves[1]), halves[0]}, Attribute.integer("axis", -1));
        return graph.node("Add", graph.node("Mul", x, cos), graph.node("Mul", rotated, sin));
    }
}
