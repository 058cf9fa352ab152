package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.SpikeconvVersion;
import dev.spikeconv.converter.model.RotaryFrequencies;
import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeArithmetic;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.onnx.proto.GraphProto;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.tensor.FileRegion;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Writes a model as an ONNX graph implementing DESIGN §4: softmax, sliding-window (with sinks) and
 * gated linear attention layers; float, int8 and spiking projections. Inputs are {@code input_ids
 * [batch, sequence]}, {@code past_sequence_length [1]} and each layer's cache: keys and values
 * ({@code past_key_values.N.key/value [batch, kv_heads, cached, head_dim]}) or the GLA state
 * ({@code past_key_values.N.state [batch, kv_heads, head_dim, head_dim]}); outputs are {@code logits}
 * and the matching {@code present.N.*}. A sliding-window cache keeps the sinks and the last
 * {@code window - 1} positions, so decode memory stays constant. GLA layers compute the products
 * within chunks for all chunks at once and carry the state across them in a Scan; decode is the same
 * graph on one chunk of one token. Weights stored in a file beside the graph (a bundle's safetensors)
 * are referenced where they lie; others are written to {@code model.onnx.data}.
 */
public final class DecoderGraphWriter {
    public static final String MODEL_FILE = "model.onnx";
    public static final String DATA_FILE = "model.onnx.data";
    public static final String INPUT_IDS = "input_ids";
    public static final String PAST_SEQUENCE_LENGTH = "past_sequence_length";
    public static final String LOGITS = "logits";
    /** Tokens per GLA chunk in prefill: the pairwise decay tensor grows with its square; 16 measured twice as fast as 64. */
    public static final int GLA_CHUNK = 16;
    private static final float MASKED = -Float.MAX_VALUE;
    private static final int INT8 = TensorProto.DataType.INT8_VALUE;
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final long COPY_CHUNK = 1 << 24;

    private final ModelDescription model;
    private final ModelConfig config;
    private final SpikeSettings spike;
    private final OnnxGraphBuilder graph;
    private final GraphOptions options;
    /** int8 weights become float constants when ONNX Runtime loads the graph (fast GEMM), unless that would exceed the options' limit. */
    private final boolean floatWeights;
    private final Map<String, String> initializers = new HashMap<>();
    /** Additive attention masks by attention kind, window and sinks. */
    private final Map<String, String> masks = new HashMap<>();
    /** The folder the graph is written to: stored tensors of files in it are referenced, not copied. */
    private final Path directory;
    private String batch;
    private String sequence;
    private String pastLength;
    private String positions;
    private String cos;
    private String sin;

    private DecoderGraphWriter(ModelDescription model, Path directory, OnnxGraphBuilder graph, GraphOptions options) {
        this.model = model;
        this.directory = directory.toAbsolutePath().normalize();
        this.config = model.config();
        this.spike = config.spike();
        this.graph = graph;
        this.options = options;
        long int8Parameters = model.tensors().values().stream().filter(ScaledInt8Tensor.class::isInstance).mapToLong(tensor -> tensor.shape().elementCount()).sum();
        this.floatWeights = int8Parameters * Float.BYTES <= options.floatWeightLimitBytes();
    }

    /** The residual stream after layer {@code layer}, {@code [tokens, hidden]}: a named value analysis runs can fetch. */
    public static String hiddenStates(int layer) {
        return "hidden_states." + layer;
    }

    /** The attention branch's contribution to the residual stream of {@code layer}, {@code [tokens, hidden]}. */
    public static String attentionOutput(int layer) {
        return "attention_output." + layer;
    }

    /** The MLP branch's contribution to the residual stream of {@code layer}, {@code [tokens, hidden]}. */
    public static String mlpOutput(int layer) {
        return "mlp_output." + layer;
    }

    /** The input of the projection at {@code site} (e.g. {@code model.layers.0.self_attn.q_proj}), {@code [tokens, in]}. */
    public static String projectionInput(String site) {
        return "projection_input." + site;
    }

    public static String pastKey(int layer) {
        return "past_key_values." + layer + ".key";
    }

    public static String pastValue(int layer) {
        return "past_key_values." + layer + ".value";
    }

    public static String pastState(int layer) {
        return "past_key_values." + layer + ".state";
    }

    public static String presentKey(int layer) {
        return "present." + layer + ".key";
    }

    public static String presentValue(int layer) {
        return "present." + layer + ".value";
    }

    public static String presentState(int layer) {
        return "present." + layer + ".state";
    }

    /** Writes {@code model.onnx} into {@code directory}, and {@code model.onnx.data} for weights not already stored there. */
    public static Path write(ModelDescription model, Path directory) throws IOException {
        return write(model, directory, GraphOptions.STANDARD);
    }

    public static Path write(ModelDescription model, Path directory, GraphOptions options) throws IOException {
        ModelProto proto;
        try (ExternalDataWriter data = new ExternalDataWriter(directory.resolve(DATA_FILE))) {
            DecoderGraphWriter writer = new DecoderGraphWriter(model, directory, new OnnxGraphBuilder("spikeconv_decoder", data), options);
            writer.build();
            proto = writer.graph.build(SpikeconvVersion.get());
        }
        Path file = directory.resolve(MODEL_FILE);
        try (OutputStream out = Files.newOutputStream(file)) {
            proto.writeTo(out);
        }
        return file;
    }

    private void build() throws IOException {
        int kvHeads = config.keyValueHeadCount();
        int d = config.headDimension();
        graph.input(INPUT_IDS, TensorProto.DataType.INT64, "batch", "sequence");
        graph.input(PAST_SEQUENCE_LENGTH, TensorProto.DataType.INT64, 1);
        for (int layer = 0; layer < config.layerCount(); layer++) {
            if (config.layer(layer).kind() == AttentionKind.GATED_LINEAR) {
                graph.input(pastState(layer), TensorProto.DataType.FLOAT, "batch", kvHeads, d, d);
            }
            else {
                String cached = "cached_" + layer;
                graph.input(pastKey(layer), TensorProto.DataType.FLOAT, "batch", kvHeads, cached, d);
                graph.input(pastValue(layer), TensorProto.DataType.FLOAT, "batch", kvHeads, cached, d);
            }
        }
        String idsShape = graph.node("Shape", INPUT_IDS);
        batch = graph.node("Slice", new String[] {idsShape, graph.int64(0), graph.int64(1)});
        sequence = graph.node("Slice", new String[] {idsShape, graph.int64(1), graph.int64(2)});
        pastLength = graph.node("Squeeze", PAST_SEQUENCE_LENGTH, graph.int64(0));
        String end = graph.node("Add", pastLength, graph.node("Squeeze", sequence, graph.int64(0)));
        positions = graph.node("Range", new String[] {pastLength, end, graph.int64(true, 1)});
        if (config.layers().stream().anyMatch(layer -> layer.kind() != AttentionKind.GATED_LINEAR)) {
            buildRotaryTables();
        }
        String hidden = graph.node("Reshape", embed(), graph.int64(-1, config.hiddenSize()));
        for (int layer = 0; layer < config.layerCount(); layer++) {
            hidden = layer(layer, hidden);
        }
        String normed = rmsNorm(hidden, floatWeight(TensorNames.FINAL_NORM));
        String logits2d = graph.node("Gemm", normed, headWeights(), Attribute.integer("transB", 1));
        String logitsShape = graph.node("Concat", new String[] {batch, sequence, graph.int64(config.vocabularySize())}, Attribute.integer("axis", 0));
        graph.addNode("Reshape", new String[] {logits2d, logitsShape}, new String[] {LOGITS});
        graph.output(LOGITS, TensorProto.DataType.FLOAT, "batch", "sequence", config.vocabularySize());
        for (int layer = 0; layer < config.layerCount(); layer++) {
            if (config.layer(layer).kind() == AttentionKind.GATED_LINEAR) {
                graph.output(presentState(layer), TensorProto.DataType.FLOAT, "batch", kvHeads, d, d);
            }
            else {
                graph.output(presentKey(layer), TensorProto.DataType.FLOAT, "batch", kvHeads, "present_" + layer, d);
                graph.output(presentValue(layer), TensorProto.DataType.FLOAT, "batch", kvHeads, "present_" + layer, d);
            }
        }
    }

    /** Token embeddings {@code [batch, sequence, hidden]}; int8 rows are dequantized after the lookup. */
    private String embed() throws IOException {
        TensorView embedding = model.tensor(TensorNames.EMBEDDING);
        if (embedding instanceof ScaledInt8Tensor int8) {
            String codes = graph.node("Gather", int8Codes(TensorNames.EMBEDDING, int8), INPUT_IDS);
            String scales = graph.node("Gather", floatWeight(TensorNames.EMBEDDING + "_scale", int8.scales()), INPUT_IDS);
            return graph.node("DequantizeLinear", new String[] {codes, scales}, Attribute.integer("axis", 2),
                    Attribute.integer("block_size", Math.min(int8.groupSize(), (int) int8.shape().columns())));
        }
        return graph.node("Gather", floatWeight(TensorNames.EMBEDDING), INPUT_IDS);
    }

    /** The output head as float {@code [vocab, hidden]} for a Gemm with transB. */
    private String headWeights() throws IOException {
        String name = config.tiedEmbeddings() ? TensorNames.EMBEDDING : TensorNames.LM_HEAD;
        TensorView head = model.tensor(name);
        return head instanceof ScaledInt8Tensor int8 ? dequantized(name, int8) : floatWeight(name);
    }

    /** cos and sin of {@code position * inverseFrequency}, {@code [1, 1, sequence, head_dim]}, rotate-half layout. */
    private void buildRotaryTables() {
        float[] inverse = RotaryFrequencies.inverseFrequencies(config);
        String frequencies = graph.float32(inverse, 1, inverse.length);
        String angles = graph.node("Mul", graph.node("Unsqueeze", graph.node("Cast", new String[] {positions}, Attribute.integer("to", FLOAT)), graph.int64(1)), frequencies);
        String full = graph.node("Concat", new String[] {angles, angles}, Attribute.integer("axis", 1));
        String axes = graph.int64(0, 1);
        cos = graph.node("Unsqueeze", graph.node("Cos", full), axes);
        sin = graph.node("Unsqueeze", graph.node("Sin", full), axes);
    }

    private String layer(int layer, String hidden) throws IOException {
        String normed = rmsNorm(hidden, floatWeight(LayerTensor.ATTENTION_NORM.name(layer)));
        boolean dropped = options.withoutGatedLinearAttention() && config.layer(layer).kind() == AttentionKind.GATED_LINEAR;
        if (!dropped) {
            String mixed = switch (config.layer(layer).kind()) {
                case SOFTMAX, SLIDING_WINDOW -> softmaxAttention(layer, normed);
                case GATED_LINEAR -> gatedLinearAttention(layer, normed);
            };
            String attention = projection(mixed, layer, LayerTensor.OUTPUT_WEIGHT, LayerTensor.OUTPUT_BIAS);
            graph.addNode("Identity", new String[] {attention}, new String[] {attentionOutput(layer)});
            hidden = graph.node("Add", hidden, attentionOutput(layer));
        }
        else {
            // The baseline keeps the layer's state input and output so engines feed it as usual.
            graph.addNode("Identity", new String[] {pastState(layer)}, new String[] {presentState(layer)});
        }
        String mlpInput = rmsNorm(hidden, floatWeight(LayerTensor.MLP_NORM.name(layer)));
        String gate = projection(mlpInput, layer, LayerTensor.MLP_GATE_WEIGHT, LayerTensor.MLP_GATE_BIAS);
        String up = projection(mlpInput, layer, LayerTensor.MLP_UP_WEIGHT, LayerTensor.MLP_UP_BIAS);
        String activated = graph.node("Mul", graph.node("Mul", gate, graph.node("Sigmoid", gate)), up);
        String mlp = projection(activated, layer, LayerTensor.MLP_DOWN_WEIGHT, LayerTensor.MLP_DOWN_BIAS);
        graph.addNode("Identity", new String[] {mlp}, new String[] {mlpOutput(layer)});
        graph.addNode("Add", new String[] {hidden, mlpOutput(layer)}, new String[] {hiddenStates(layer)});
        return hiddenStates(layer);
    }

    /** Softmax attention over the cache and the new tokens, optionally windowed; returns {@code [tokens, heads * d]}. */
    private String softmaxAttention(int layer, String normed) throws IOException {
        LayerAttention attention = config.layer(layer);
        int heads = config.headCount();
        int d = config.headDimension();
        String query = heads(projection(normed, layer, LayerTensor.QUERY_WEIGHT, LayerTensor.QUERY_BIAS), heads);
        String key = heads(projection(normed, layer, LayerTensor.KEY_WEIGHT, LayerTensor.KEY_BIAS), config.keyValueHeadCount());
        String value = heads(projection(normed, layer, LayerTensor.VALUE_WEIGHT, LayerTensor.VALUE_BIAS), config.keyValueHeadCount());
        if (config.qkNorm()) {
            query = rmsNorm(query, floatWeight(LayerTensor.QUERY_NORM.name(layer)));
            key = rmsNorm(key, floatWeight(LayerTensor.KEY_NORM.name(layer)));
        }
        query = rotate(query);
        key = rotate(key);
        // ONNX Runtime's kernel takes head dimensions that are multiples of 8; others keep the standard operators.
        if (attention.kind() == AttentionKind.SOFTMAX && options.fusedSoftmaxAttention() && d % 8 == 0) {
            return fusedSoftmaxAttention(layer, query, key, value);
        }
        // Layers of the same attention kind and window see the same key positions (their caches are trimmed alike): one mask serves them all.
        String mask = masks.computeIfAbsent(attention.kind() + "/" + attention.window() + "/" + attention.sinks(), unused -> mask(attention, keyPositions(layer)));
        // ONNX's Attention (opset 23) appends the new keys and values to the cache, shares key/value heads without
        // copies, scales by 1/sqrt(d), adds the mask and applies the softmax in one kernel: no separate pass over the
        // [heads, tokens, keys] scores for each step.
        String[] outputs = graph.nodes("Attention", 3, new String[] {query, key, value, mask, pastKey(layer), pastValue(layer)});
        switch (attention.kind()) {
            case SOFTMAX -> {
                graph.addNode("Identity", new String[] {outputs[1]}, new String[] {presentKey(layer)});
                graph.addNode("Identity", new String[] {outputs[2]}, new String[] {presentValue(layer)});
            }
            case SLIDING_WINDOW -> {
                keepWindow(attention, outputs[1], presentKey(layer));
                keepWindow(attention, outputs[2], presentValue(layer));
            }
            case GATED_LINEAR -> throw new IllegalStateException("gated linear attention has no cache");
        }
        String context = graph.node("Transpose", new String[] {outputs[0]}, Attribute.integers("perm", 0, 2, 1, 3));
        return graph.node("Reshape", context, graph.int64(-1, (long) heads * d));
    }

    /**
     * Causal softmax attention as ONNX Runtime's GroupQueryAttention: one kernel for the scores, the mask, the softmax
     * and the weighted values, key/value heads shared without copies, the cache appended inside. It takes heads
     * flattened per token ({@code [batch, sequence, heads * d]}) and caches as {@code [batch, kv heads, length, d]}.
     */
    private String fusedSoftmaxAttention(int layer, String query, String key, String value) {
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
                        pastKey(layer), pastValue(layer), lastPositions, total},
                Attribute.integer("num_heads", heads), Attribute.integer("kv_num_heads", kvHeads));
        graph.addNode("Identity", new String[] {outputs[1]}, new String[] {presentKey(layer)});
        graph.addNode("Identity", new String[] {outputs[2]}, new String[] {presentValue(layer)});
        return graph.node("Reshape", outputs[0], graph.int64(-1, (long) heads * d));
    }

    /** {@code [batch, heads, sequence, d]} as {@code [batch, sequence, heads * d]}. */
    private String tokensByHeads(String x, long width) {
        String transposed = graph.node("Transpose", new String[] {x}, Attribute.integers("perm", 0, 2, 1, 3));
        return graph.node("Reshape", transposed, graph.node("Concat", new String[] {batch, sequence, graph.int64(width)}, Attribute.integer("axis", 0)));
    }

    /** Positions of the keys a layer's queries see: its cache followed by the new tokens. */
    private String keyPositions(int layer) {
        LayerAttention attention = config.layer(layer);
        return switch (attention.kind()) {
            case SOFTMAX -> graph.node("Range", new String[] {graph.int64(true, 0), graph.node("Add", pastLength, graph.node("Squeeze", sequence, graph.int64(0))), graph.int64(true, 1)});
            case SLIDING_WINDOW -> windowKeyPositions(attention, graph.node("Squeeze",
                    graph.node("Slice", new String[] {graph.node("Shape", pastKey(layer)), graph.int64(2), graph.int64(3)}), graph.int64(0)));
            case GATED_LINEAR -> throw new IllegalStateException("gated linear attention has no key positions");
        };
    }

    /**
     * Positions of the cached keys followed by the new ones. The cache holds the first
     * {@code min(sinks, cached)} positions, then the most recent ones up to {@code past_sequence_length}.
     */
    private String windowKeyPositions(LayerAttention attention, String cachedLength) {
        String sinkCount = graph.node("Min", graph.int64(true, attention.sinks()), cachedLength);
        String sinks = graph.node("Range", new String[] {graph.int64(true, 0), sinkCount, graph.int64(true, 1)});
        String recentStart = graph.node("Sub", pastLength, graph.node("Sub", cachedLength, sinkCount));
        String recent = graph.node("Range", new String[] {recentStart, pastLength, graph.int64(true, 1)});
        return graph.node("Concat", new String[] {sinks, recent, positions}, Attribute.integer("axis", 0));
    }

    /** The next cache: the first {@code sinks} entries and the last {@code window - 1}, in position order. */
    private void keepWindow(LayerAttention attention, String all, String present) {
        String total = graph.node("Slice", new String[] {graph.node("Shape", all), graph.int64(2), graph.int64(3)});
        String sinkEnd = graph.node("Min", graph.int64(attention.sinks()), total);
        String recentStart = graph.node("Max", sinkEnd, graph.node("Sub", total, graph.int64(attention.window() - 1L)));
        String axis = graph.int64(2);
        String sinks = graph.node("Slice", new String[] {all, graph.int64(0), sinkEnd, axis});
        String recent = graph.node("Slice", new String[] {all, recentStart, total, axis});
        graph.addNode("Concat", new String[] {sinks, recent}, new String[] {present}, Attribute.integer("axis", 2));
    }

    /** Additive mask {@code [sequence, keys]}: 0 where a query sees a key (causal, windowed, sinks), the lowest float elsewhere. */
    private String mask(LayerAttention attention, String keyPositions) {
        String keysRow = graph.node("Unsqueeze", keyPositions, graph.int64(0));
        String queriesColumn = graph.node("Unsqueeze", positions, graph.int64(1));
        String allowed = graph.node("LessOrEqual", keysRow, queriesColumn);
        switch (attention.kind()) {
            case SOFTMAX -> { }
            case SLIDING_WINDOW -> {
                String inWindow = graph.node("Greater", keysRow, graph.node("Sub", queriesColumn, graph.int64(true, attention.window())));
                String sink = graph.node("Less", keysRow, graph.int64(true, attention.sinks()));
                allowed = graph.node("And", allowed, graph.node("Or", inWindow, sink));
            }
            case GATED_LINEAR -> throw new IllegalStateException("gated linear attention has no mask");
        }
        return graph.node("Where", new String[] {allowed, graph.scalar(0f), graph.scalar(MASKED)});
    }

    /**
     * GLA (DESIGN §4) in chunked form. Within a chunk with cumulative log-decays {@code b}, a query at t
     * sees the carried state as {@code (q ⊙ e^{b_t}) S} and the chunk's earlier keys through
     * {@code Σ_i q_i k_i e^{b_t,i - b_s,i}}; every exponent is at most 0, so no decay can overflow.
     */
    private String gatedLinearAttention(int layer, String normed) throws IOException {
        int heads = config.headCount();
        int kvHeads = config.keyValueHeadCount();
        int d = config.headDimension();
        String query = heads(projection(normed, layer, LayerTensor.QUERY_WEIGHT, LayerTensor.QUERY_BIAS), heads);
        String key = heads(projection(normed, layer, LayerTensor.KEY_WEIGHT, LayerTensor.KEY_BIAS), kvHeads);
        String value = heads(projection(normed, layer, LayerTensor.VALUE_WEIGHT, LayerTensor.VALUE_BIAS), kvHeads);
        if (config.qkNorm()) {
            query = rmsNorm(query, floatWeight(LayerTensor.QUERY_NORM.name(layer)));
            key = rmsNorm(key, floatWeight(LayerTensor.KEY_NORM.name(layer)));
        }
        query = graph.node("Mul", graph.node("Relu", query), graph.scalar((float) (1 / Math.sqrt(d))));
        key = graph.node("Relu", key);
        String gateDown = graph.node("Gemm", normed, floatWeight(LayerTensor.DECAY_GATE_DOWN_WEIGHT.name(layer)), Attribute.integer("transB", 1));
        String gateLogits = graph.node("Gemm", new String[] {gateDown, floatWeight(LayerTensor.DECAY_GATE_UP_WEIGHT.name(layer)),
                floatWeight(LayerTensor.DECAY_GATE_UP_BIAS.name(layer))}, Attribute.integer("transB", 1));
        String logDecay = heads(graph.node("Div", logSigmoid(gateLogits), graph.scalar(config.gateLogitNormalizer())), kvHeads);

        // Chunks of min(sequence, GLA_CHUNK) tokens; padding steps have k = v = 0 and decay 1, so they change nothing.
        int group = heads / kvHeads;
        String length = graph.node("Squeeze", sequence, graph.int64(0));
        String chunk = graph.node("Min", length, graph.int64(true, GLA_CHUNK));
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
        // Intra-chunk: scores[t, s] = Σ_i q_t,i k_s,i exp(b_t,i - b_s,i) for s <= t, where every exponent is at most 0.
        String differences = graph.node("Sub", graph.node("Unsqueeze", cumulative, graph.int64(4)), graph.node("Unsqueeze", cumulative, graph.int64(3)));
        String steps = graph.node("Range", new String[] {graph.int64(true, 0), chunk, graph.int64(true, 1)});
        String causal = graph.node("Unsqueeze", graph.node("LessOrEqual", graph.node("Unsqueeze", steps, graph.int64(0)), graph.node("Unsqueeze", steps, graph.int64(1))),
                graph.int64(2));
        // Future keys (s > t) have positive exponents, possibly overflowing to infinity: their scores are computed and then
        // replaced by 0 after the sum over channels (Where never reads the unselected value), on a d times smaller tensor.
        String weights = graph.node("Exp", differences);
        String products = graph.node("Mul", graph.node("Mul", graph.node("Unsqueeze", queries, graph.int64(5)), graph.node("Unsqueeze", keys, graph.int64(2, 4))),
                graph.node("Unsqueeze", weights, graph.int64(2)));
        String scores = graph.node("Where", new String[] {graph.node("Squeeze", causal, graph.int64(2)),
                graph.node("ReduceSum", new String[] {products, graph.int64(-1)}, Attribute.integer("keepdims", 0)), graph.scalar(0f)});
        String withinChunks = graph.node("MatMul", scores, graph.node("Unsqueeze", values, graph.int64(2)));
        // What each chunk reads from the state before it, (q ⊙ e^{b_t}) S, and adds to it: S' = diag(e^{b_last}) S + Σ_s (k_s ⊙ e^{b_last - b_s})ᵀ v_s.
        String decayedQueries = graph.node("Mul", queries, graph.node("Unsqueeze", graph.node("Exp", cumulative), graph.int64(2)));
        String last = graph.node("Slice", new String[] {cumulative, graph.int64(-1), graph.int64(Long.MAX_VALUE), graph.int64(3)});
        String keptRows = graph.node("Transpose", new String[] {graph.node("Exp", last)}, Attribute.integers("perm", 0, 1, 2, 4, 3));
        String decayedKeys = graph.node("Mul", keys, graph.node("Exp", graph.node("Sub", last, cumulative)));
        String added = graph.node("MatMul", graph.node("Transpose", new String[] {decayedKeys}, Attribute.integers("perm", 0, 1, 2, 4, 3)), values);
        String[] outputs = new String[] {presentState(layer), graph.newName("gla_from_state")};
        graph.addNode("Scan", new String[] {pastState(layer), graph.node("Transpose", new String[] {decayedQueries}, Attribute.integers("perm", 3, 0, 1, 2, 4, 5)),
                graph.node("Transpose", new String[] {keptRows}, Attribute.integers("perm", 2, 0, 1, 3, 4)),
                graph.node("Transpose", new String[] {added}, Attribute.integers("perm", 2, 0, 1, 3, 4))}, outputs,
                Attribute.graph("body", glaStateBody()), Attribute.integer("num_scan_inputs", 3));
        String fromState = graph.node("Transpose", new String[] {outputs[1]}, Attribute.integers("perm", 1, 2, 3, 0, 4, 5));
        String flat = graph.node("Reshape", graph.node("Add", fromState, withinChunks), graph.int64(0, heads, -1, d));
        String output = graph.node("Slice", new String[] {flat, graph.int64(0), sequence, graph.int64(2)});
        String normalized = rmsNorm(output, floatWeight(LayerTensor.HEAD_OUTPUT_NORM.name(layer)));
        String tokens = graph.node("Transpose", new String[] {normalized}, Attribute.integers("perm", 0, 2, 1, 3));
        return graph.node("Reshape", tokens, graph.int64(-1, (long) heads * d));
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

    /** {@code [tokens, heads * d]} to {@code [batch, heads, sequence, d]}. */
    private String heads(String projection, int headCount) {
        String shape = graph.node("Concat", new String[] {batch, sequence, graph.int64(headCount, config.headDimension())}, Attribute.integer("axis", 0));
        return graph.node("Transpose", new String[] {graph.node("Reshape", projection, shape)}, Attribute.integers("perm", 0, 2, 1, 3));
    }

    /** Rotate-half RoPE: {@code x * cos + [-x2, x1] * sin}. */
    private String rotate(String x) {
        String[] halves = graph.nodes("Split", 2, new String[] {x}, Attribute.integer("axis", -1), Attribute.integer("num_outputs", 2));
        String rotated = graph.node("Concat", new String[] {graph.node("Neg", halves[1]), halves[0]}, Attribute.integer("axis", -1));
        return graph.node("Add", graph.node("Mul", x, cos), graph.node("Mul", rotated, sin));
    }

    /** RMSNorm over the last axis: {@code x / sqrt(mean(x^2) + eps) * w}. */
    private String rmsNorm(String x, String weight) {
        String meanSquare = graph.node("ReduceMean", new String[] {graph.node("Mul", x, x), graph.int64(-1)}, Attribute.integer("keepdims", 1));
        String inverse = graph.node("Reciprocal", graph.node("Sqrt", graph.node("Add", meanSquare, graph.scalar((float) config.normEpsilon()))));
        return graph.node("Mul", graph.node("Mul", x, inverse), weight);
    }

    /**
     * One projection of {@code [tokens, in]}: float or int8 weights, float or spiking input (DESIGN §4).
     * Spiking: θ dynamic ({@code clamp(mean|a|/k, 1e-5, 1e4)} per token) or static, {@code s = clamp(round(a/θ), ±T)},
     * then {@code y = θ (s · W^T) + b} with int8 weights as {@code code * scale} (see {@link #dequantized}): the integer
     * products of DESIGN §4 in float, which differs from the reference's int32 sums only by float rounding (or, past the
     * float-weight limit, in int32 with {@link #integerProduct});
     * a threshold per input channel multiplies inside, {@code y = W (θ ⊙ s) + b}.
     */
    private String projection(String input, int layer, LayerTensor weightTensor, LayerTensor biasTensor) throws IOException {
        String name = weightTensor.name(layer);
        String site = name.substring(0, name.length() - ".weight".length());
        TensorView weight = model.tensor(name);
        String bias = model.tensors().containsKey(biasTensor.name(layer)) ? floatWeight(biasTensor.name(layer)) : null;
        graph.addNode("Identity", new String[] {input}, new String[] {projectionInput(site)});
        input = projectionInput(site);
        String weights = weight instanceof ScaledInt8Tensor int8 ? (floatWeights ? dequantized(name, int8) : dequantizedPerRun(name, int8)) : floatWeight(name);
        if (!spike.spikes(site)) {
            return graph.node("Gemm", bias == null ? new String[] {input, weights} : new String[] {input, weights, bias}, Attribute.integer("transB", 1));
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
            return graph.node("Gemm", bias == null ? new String[] {scaledCounts, weights} : new String[] {scaledCounts, weights, bias},
                    Attribute.integer("transB", 1));
        }
        String product = weight instanceof ScaledInt8Tensor int8 && !floatWeights
                ? integerProduct(name, int8, counts)
                : graph.node("Gemm", new String[] {counts, weights}, Attribute.integer("transB", 1));
        String output = graph.node("Mul", product, threshold);
        return bias == null ? output : graph.node("Add", output, bias);
    }

    /**
     * Float weights {@code code * scale} {@code [out, in]} of an int8 tensor. Built from initializers only, so ONNX
     * Runtime folds them into one constant when the session loads (DequantizeLinear it would not fold, and would
     * dequantize every weight on every decode step): the file keeps int8, the session runs its float GEMM.
     */
    private String dequantized(String name, ScaledInt8Tensor weight) throws IOException {
        String key = name + "#dequantized";
        String existing = initializers.get(key);
        if (existing != null) {
            return existing;
        }
        int outputs = (int) weight.shape().dimension(0);
        int inputs = (int) weight.shape().dimension(1);
        int group = Math.min(weight.groupSize(), inputs);
        int groups = (inputs + group - 1) / group;
        int padding = groups * group - inputs;
        String codes = graph.node("Cast", new String[] {int8Codes(name, weight)}, Attribute.integer("to", FLOAT));
        String padded = padding == 0 ? codes : graph.node("Pad", new String[] {codes, graph.int64(0, 0, 0, padding)});
        String scales = graph.node("Reshape", floatWeight(name + "_scale", weight.scales()), graph.int64(outputs, groups, 1));
        String scaled = graph.node("Mul", graph.node("Reshape", padded, graph.int64(outputs, groups, group)), scales);
        String flat = graph.node("Reshape", scaled, graph.int64(outputs, (long) groups * group));
        String created = padding == 0 ? flat : graph.node("Slice", new String[] {flat, graph.int64(0), graph.int64(inputs), graph.int64(1)});
        initializers.put(key, created);
        return created;
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
            String accumulated = graph.node("Cast", new String[] {graph.node("MatMulInteger", int8Codes(name, weight), spikes)}, Attribute.integer("to", FLOAT));
            String scaled = graph.node("Mul", accumulated, floatWeight(name + "_scale", weight.scales()));
            return graph.node("Transpose", new String[] {scaled}, Attribute.integers("perm", 1, 0));
        }
        int padding = groups * group - inputs;
        String padded = padding == 0 ? counts : graph.node("Pad", new String[] {counts, graph.int64(0, 0, 0, padding)});
        String byGroup = graph.node("Transpose", new String[] {graph.node("Reshape", padded, graph.int64(-1, groups, group))}, Attribute.integers("perm", 1, 2, 0));
        String spikes = graph.node("Cast", new String[] {byGroup}, Attribute.integer("to", INT8));
        String accumulated = graph.node("Cast", new String[] {graph.node("MatMulInteger", groupedCodes(name, weight, groups, group), spikes)}, Attribute.integer("to", FLOAT));
        String scaled = graph.node("Mul", accumulated, groupedScales(name, weight, outputs, groups));
        String summed = graph.node("ReduceSum", new String[] {scaled, graph.int64(0)}, Attribute.integer("keepdims", 0));
        return graph.node("Transpose", new String[] {summed}, Attribute.integers("perm", 1, 0));
    }

    /** Float weights {@code code * scale} computed on every run by blocked DequantizeLinear: memory-lean, slow to decode. */
    private String dequantizedPerRun(String name, ScaledInt8Tensor weight) throws IOException {
        int columns = (int) weight.shape().columns();
        return graph.node("DequantizeLinear", new String[] {int8Codes(name, weight), floatWeight(name + "_scale", weight.scales())},
                Attribute.integer("axis", 1), Attribute.integer("block_size", Math.min(weight.groupSize(), columns)));
    }

    /** The codes as stored, {@code [out, in]}. */
    private String int8Codes(String name, ScaledInt8Tensor weight) throws IOException {
        String existing = initializers.get(name);
        if (existing != null) {
            return existing;
        }
        String created = referenced(name, weight.codes(), TensorProto.DataType.INT8);
        if (created == null) {
            MemorySegment codes = weight.codes().data();
            created = graph.int8Weight(name, weight.shape().dimensions(), sink -> {
                for (long offset = 0; offset < codes.byteSize(); offset += COPY_CHUNK) {
                    sink.write(codes.asSlice(offset, Math.min(COPY_CHUNK, codes.byteSize() - offset)).asByteBuffer());
                }
            });
        }
        initializers.put(name, created);
        return created;
    }

    /**
     * The codes regrouped as {@code [groups, out, group]}, the last group zero-padded, for a batched MatMulInteger:
     * graph operations on the stored int8 initializer, which ONNX Runtime folds into an int8 constant at load, so the
     * file holds the codes once and the conversion writes no second, regrouped copy.
     */
    private String groupedCodes(String name, ScaledInt8Tensor weight, int groups, int group) throws IOException {
        int outputs = (int) weight.shape().dimension(0);
        int inputs = (int) weight.shape().dimension(1);
        int padding = groups * group - inputs;
        String codes = int8Codes(name, weight);
        String padded = padding == 0 ? codes : graph.node("Pad", new String[] {codes, graph.int64(0, 0, 0, padding)});
        return graph.node("Transpose", new String[] {graph.node("Reshape", padded, graph.int64(outputs, groups, group))}, Attribute.integers("perm", 1, 0, 2));
    }

    /** The scales {@code [out, groups]} as {@code [groups, out, 1]}, matching {@link #groupedCodes}; folded at load like the codes. */
    private String groupedScales(String name, ScaledInt8Tensor weight, int outputs, int groups) throws IOException {
        String byGroup = graph.node("Transpose", new String[] {floatWeight(name + "_scale", weight.scales())}, Attribute.integers("perm", 1, 0));
        return graph.node("Reshape", byGroup, graph.int64(groups, outputs, 1));
    }

    private String floatWeight(String name) throws IOException {
        return floatWeight(name, model.tensor(name));
    }

    /**
     * A float32 value named after the tensor, made once however often it is used: the stored bytes referenced where they
     * lie beside the graph (half-precision ones cast to float, which ONNX Runtime folds at load), else written as float32.
     */
    private String floatWeight(String name, TensorView tensor) throws IOException {
        String existing = initializers.get(name);
        if (existing != null) {
            return existing;
        }
        String created = switch (tensor.dtype()) {
            case F32 -> referenced(name, tensor, TensorProto.DataType.FLOAT);
            case BF16 -> castToFloat(referenced(name, tensor, TensorProto.DataType.BFLOAT16));
            case F16 -> castToFloat(referenced(name, tensor, TensorProto.DataType.FLOAT16));
            case F64, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K -> null;
        };
        if (created == null) {
            created = graph.weight(name, tensor);
        }
        initializers.put(name, created);
        return created;
    }

    private String castToFloat(String value) {
        return value == null ? null : graph.node("Cast", new String[] {value}, Attribute.integer("to", FLOAT));
    }

    /**
     * An initializer of {@code type} that points at the tensor's bytes in a file of the graph's own folder (a bundle's
     * safetensors), so they are stored once; null when the tensor does not lie unchanged in such a file.
     */
    private String referenced(String name, TensorView tensor, TensorProto.DataType type) {
        if (!(tensor instanceof StoredTensor stored) || stored.fileRegion().isEmpty()) {
            return null;
        }
        FileRegion region = stored.fileRegion().get();
        Path file = region.file().toAbsolutePath().normalize();
        if (!directory.equals(file.getParent())) {
            return null;
        }
        return graph.referencedWeight(name, type, tensor.shape().dimensions(), file.getFileName().toString(), region.offset(), stored.byteSize());
    }
}
