package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.SpikeconvVersion;
import dev.spikeconv.converter.layers.GatedLinearLayer;
import dev.spikeconv.converter.layers.HybridLayer;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.converter.layers.SoftmaxLayer;
import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a model as an ONNX graph implementing docs/design.md §4: softmax, sliding-window (with sinks) and
 * gated linear attention layers; float, int8 and spiking projections. Inputs are {@code input_ids
 * [batch, sequence]}, {@code past_sequence_length [1]} and each layer's cache: keys and values
 * ({@code past_key_values.N.key/value [batch, kv_heads, cached, head_dim]}) or the GLA state
 * ({@code past_key_values.N.state [batch, kv_heads, head_dim, head_dim]}; a hybrid layer has keys, values and a state
 * {@code [batch, kv_heads, features, head_dim + 1]}); outputs are {@code logits}
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
    /** The token embeddings {@code [tokens, hidden]}: the residual stream before layer 0, a named value analysis runs can start from. */
    public static final String EMBEDDINGS = "embeddings";
    private final ModelDescription model;
    private final ModelConfig config;
    private final OnnxGraphBuilder graph;
    private final GraphOptions options;
    private final GraphWeights weights;
    private final ProjectionNodes projections;
    /** Made once the run's values exist, at the start of {@link #build}. */
    private LayerContext context;
    private SoftmaxAttentionNodes softmaxAttention;
    private GatedLinearAttentionNodes gatedLinearAttention;
    private HybridAttentionNodes hybridAttention;

    private DecoderGraphWriter(ModelDescription model, Path directory, OnnxGraphBuilder graph, GraphOptions options) {
        this.model = model;
        this.config = model.config();
        this.graph = graph;
        this.options = options;
        this.weights = new GraphWeights(model, graph, directory);
        this.projections = new ProjectionNodes(model, graph, weights);
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

    /** The spike counts of the projection at {@code site}, {@code [tokens, in]} (float32, integer-valued); spiking sites only. */
    public static String spikeCounts(String site) {
        return "spike_counts." + site;
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

    /**
     * One cache a sequence carries between runs: the graph input {@code past}, the output {@code present} that becomes the
     * next run's input, and the shape it starts from (a zero state, or an empty key/value cache).
     */
    public record Cache(int layer, String past, String present, long[] initialShape, boolean growing) {
        /** The declared dimensions: batch, and the length of a key/value cache, are symbolic. */
        Object[] dimensions(boolean output) {
            Object[] dimensions = new Object[initialShape.length];
            dimensions[0] = "batch";
            for (int i = 1; i < dimensions.length; i++) {
                dimensions[i] = growing && i == 2 ? (output ? "present_" : "cached_") + layer : initialShape[i];
            }
            return dimensions;
        }
    }

    /** Every cache of a graph for {@code config}, layer by layer: a layer's recurrent state, then its keys and values. */
    public static List<Cache> caches(ModelConfig config) {
        long kvHeads = config.keyValueHeadCount();
        long d = config.headDimension();
        List<Cache> caches = new ArrayList<>();
        for (int layer = 0; layer < config.layerCount(); layer++) {
            LayerKind kind = LayerKind.of(config, layer);
            // A GLA state is d × d per key/value head; a hybrid's is its features' key-value sums beside their sums.
            switch (kind) {
                case GatedLinearLayer linear -> caches.add(new Cache(layer, pastState(layer), presentState(layer), new long[] {1, kvHeads, d, d}, false));
                case HybridLayer hybrid -> caches.add(new Cache(layer, pastState(layer), presentState(layer),
                        new long[] {1, kvHeads, AttentionKind.HYBRID_FEATURES, d + 1}, false));
                case SoftmaxLayer softmax -> { }
                case SlidingWindowLayer window -> { }
            }
            if (kind.keepsKeys()) {
                caches.add(new Cache(layer, pastKey(layer), presentKey(layer), new long[] {1, kvHeads, 0, d}, true));
                caches.add(new Cache(layer, pastValue(layer), presentValue(layer), new long[] {1, kvHeads, 0, d}, true));
            }
        }
        return caches;
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

    /**
     * The graph of {@code model} as if written into {@code folder}, the folder of the model's own files, which it
     * references, without writing anything: what it would put into {@code model.onnx.data} (tensors that are not stored
     * there as they are used) goes into the graph itself, at most {@code limit} bytes
     * ({@link ExternalDataWriter.InMemoryLimitExceededException} beyond that).
     */
    static ModelProto inMemory(ModelDescription model, Path folder, GraphOptions options, long limit) throws IOException {
        try (ExternalDataWriter data = ExternalDataWriter.inMemory(DATA_FILE, limit)) {
            DecoderGraphWriter writer = new DecoderGraphWriter(model, folder, new OnnxGraphBuilder("spikeconv_decoder", data), options);
            writer.build();
            return data.inline(writer.graph.build(SpikeconvVersion.get()));
        }
    }

    private void build() throws IOException {
        graph.input(INPUT_IDS, TensorProto.DataType.INT64, "batch", "sequence");
        graph.input(PAST_SEQUENCE_LENGTH, TensorProto.DataType.INT64, 1);
        for (Cache cache : caches(config)) {
            graph.input(cache.past(), TensorProto.DataType.FLOAT, cache.dimensions(false));
        }
        String idsShape = graph.node("Shape", INPUT_IDS);
        String batch = graph.node("Slice", new String[] {idsShape, graph.int64(0), graph.int64(1)});
        String sequence = graph.node("Slice", new String[] {idsShape, graph.int64(1), graph.int64(2)});
        String pastLength = graph.node("Squeeze", PAST_SEQUENCE_LENGTH, graph.int64(0));
        String end = graph.node("Add", pastLength, graph.node("Squeeze", sequence, graph.int64(0)));
        String positions = graph.node("Range", new String[] {pastLength, end, graph.int64(true, 1)});
        context = new LayerContext(graph, config, weights, projections, batch, sequence, pastLength, positions);
        if (LayerKind.of(config).stream().anyMatch(LayerKind::keepsKeys)) {
            softmaxAttention = new SoftmaxAttentionNodes(context, options);
            hybridAttention = new HybridAttentionNodes(context, softmaxAttention);
        }
        gatedLinearAttention = new GatedLinearAttentionNodes(context);
        graph.addNode("Reshape", new String[] {embed(), graph.int64(-1, config.hiddenSize())}, new String[] {EMBEDDINGS});
        String hidden = EMBEDDINGS;
        for (int layer = 0; layer < config.layerCount(); layer++) {
            hidden = layer(layer, hidden);
        }
        String normed = context.rmsNorm(hidden, weights.floatWeight(TensorNames.FINAL_NORM));
        String logits2d = graph.node("Gemm", normed, headWeights(), Attribute.integer("transB", 1));
        String logitsShape = graph.node("Concat", new String[] {batch, sequence, graph.int64(config.vocabularySize())}, Attribute.integer("axis", 0));
        graph.addNode("Reshape", new String[] {logits2d, logitsShape}, new String[] {LOGITS});
        graph.output(LOGITS, TensorProto.DataType.FLOAT, "batch", "sequence", config.vocabularySize());
        for (Cache cache : caches(config)) {
            graph.output(cache.present(), TensorProto.DataType.FLOAT, cache.dimensions(true));
        }
    }

    /** Token embeddings {@code [batch, sequence, hidden]}; int8 rows are dequantized after the lookup. */
    private String embed() throws IOException {
        TensorView embedding = model.tensor(TensorNames.EMBEDDING);
        if (embedding instanceof ScaledInt8Tensor int8) {
            String codes = graph.node("Gather", weights.int8Codes(TensorNames.EMBEDDING, int8), INPUT_IDS);
            String scales = graph.node("Gather", weights.floatWeight(TensorNames.EMBEDDING + "_scale", int8.scales()), INPUT_IDS);
            return graph.node("DequantizeLinear", new String[] {codes, scales}, Attribute.integer("axis", 2),
                    Attribute.integer("block_size", Math.min(int8.groupSize(), (int) int8.shape().columns())));
        }
        return graph.node("Gather", weights.floatWeight(TensorNames.EMBEDDING), INPUT_IDS);
    }

    /** The output head as float {@code [vocab, hidden]} for a Gemm with transB. */
    private String headWeights() throws IOException {
        String name = config.tiedEmbeddings() ? TensorNames.EMBEDDING : TensorNames.LM_HEAD;
        TensorView head = model.tensor(name);
        return head instanceof ScaledInt8Tensor int8 ? weights.dequantized(name, int8) : weights.floatWeight(name);
    }

    private String layer(int layer, String hidden) throws IOException {
        String normed = context.rmsNorm(hidden, weights.floatWeight(LayerTensor.ATTENTION_NORM.name(layer)));
        LayerKind kind = LayerKind.of(config, layer);
        // The one switch from a layer's kind to the nodes that compute it.
        String mixed = switch (kind) {
            case SoftmaxLayer softmax -> softmaxAttention.attention(layer, normed, null);
            case SlidingWindowLayer window -> softmaxAttention.attention(layer, normed, window);
            case GatedLinearLayer linear -> gatedLinearAttention.attention(layer, normed);
            case HybridLayer hybrid -> hybridAttention.attention(layer, normed, hybrid);
        };
        String attention = projections.projection(mixed, layer, LayerTensor.OUTPUT_WEIGHT, LayerTensor.OUTPUT_BIAS);
        graph.addNode("Identity", new String[] {attention}, new String[] {attentionOutput(layer)});
        hidden = graph.node("Add", hidden, attentionOutput(layer));
        String mlpInput = context.rmsNorm(hidden, weights.floatWeight(LayerTensor.MLP_NORM.name(layer)));
        String gate = projections.projection(mlpInput, layer, LayerTensor.MLP_GATE_WEIGHT, LayerTensor.MLP_GATE_BIAS);
        String up = projections.projection(mlpInput, layer, LayerTensor.MLP_UP_WEIGHT, LayerTensor.MLP_UP_BIAS);
        String activated = graph.node("Mul", graph.node("Mul", gate, graph.node("Sigmoid", gate)), up);
        String mlp = projections.projection(activated, layer, LayerTensor.MLP_DOWN_WEIGHT, LayerTensor.MLP_DOWN_BIAS);
        graph.addNode("Identity", new String[] {mlp}, new String[] {mlpOutput(layer)});
        graph.addNode("Add", new String[] {hidden, mlpOutput(layer)}, new String[] {hiddenStates(layer)});
        return hiddenStates(layer);
    }
}
