package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.SpikeconvVersion;
import dev.spikeconv.converter.model.RotaryFrequencies;
import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Writes a dense decoder as an ONNX graph: {@code input_ids [batch, sequence]} and the key/value cache
 * of earlier tokens ({@code past_key_values.N.key/value [batch, kv_heads, past, head_dim]}) in;
 * {@code logits [batch, sequence, vocab]} and the grown cache ({@code present.N.key/value}) out.
 * Positions continue from the cache length, so one graph serves prefill (empty cache) and decode.
 * Weights go to {@code model.onnx.data} as float32.
 */
public final class DecoderGraphWriter {
    public static final String MODEL_FILE = "model.onnx";
    public static final String DATA_FILE = "model.onnx.data";
    public static final String INPUT_IDS = "input_ids";
    public static final String LOGITS = "logits";
    private static final float MASKED = -Float.MAX_VALUE;

    private final ModelDescription model;
    private final ModelConfig config;
    private final OnnxGraphBuilder graph;
    private final Map<LayerAttention, String> masks = new HashMap<>();
    private String batch;
    private String sequence;
    private String positions;
    private String cos;
    private String sin;

    private DecoderGraphWriter(ModelDescription model, OnnxGraphBuilder graph) {
        this.model = model;
        this.config = model.config();
        this.graph = graph;
    }

    public static String pastKey(int layer) {
        return "past_key_values." + layer + ".key";
    }

    public static String pastValue(int layer) {
        return "past_key_values." + layer + ".value";
    }

    public static String presentKey(int layer) {
        return "present." + layer + ".key";
    }

    public static String presentValue(int layer) {
        return "present." + layer + ".value";
    }

    /** Writes {@code model.onnx} and {@code model.onnx.data} into {@code directory}. */
    public static Path write(ModelDescription model, Path directory) throws IOException {
        ModelProto proto;
        try (ExternalDataWriter data = new ExternalDataWriter(directory.resolve(DATA_FILE))) {
            DecoderGraphWriter writer = new DecoderGraphWriter(model, new OnnxGraphBuilder("spikeconv_decoder", data));
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
        int headDimension = config.headDimension();
        graph.input(INPUT_IDS, TensorProto.DataType.INT64, "batch", "sequence");
        for (int layer = 0; layer < config.layerCount(); layer++) {
            graph.input(pastKey(layer), TensorProto.DataType.FLOAT, "batch", kvHeads, "past_sequence", headDimension);
            graph.input(pastValue(layer), TensorProto.DataType.FLOAT, "batch", kvHeads, "past_sequence", headDimension);
        }
        String idsShape = graph.node("Shape", INPUT_IDS);
        batch = graph.node("Slice", new String[] {idsShape, graph.int64(0), graph.int64(1)});
        sequence = graph.node("Slice", new String[] {idsShape, graph.int64(1), graph.int64(2)});
        String pastLength = graph.node("Slice", new String[] {graph.node("Shape", pastKey(0)), graph.int64(2), graph.int64(3)});
        String start = graph.node("Squeeze", pastLength, graph.int64(0));
        String end = graph.node("Add", start, graph.node("Squeeze", sequence, graph.int64(0)));
        positions = graph.node("Range", new String[] {start, end, graph.int64(true, 1)});
        buildRotaryTables();

        TensorView embedding = model.tensor(TensorNames.EMBEDDING);
        String embeddingName = graph.weight(TensorNames.EMBEDDING, embedding);
        String hidden = graph.node("Reshape", graph.node("Gather", embeddingName, INPUT_IDS), graph.int64(-1, config.hiddenSize()));
        for (int layer = 0; layer < config.layerCount(); layer++) {
            hidden = layer(layer, hidden);
        }
        String normed = rmsNorm(hidden, weight(TensorNames.FINAL_NORM));
        String head = config.tiedEmbeddings() ? embeddingName : weight(TensorNames.LM_HEAD);
        String logits2d = graph.node("Gemm", normed, head, Attribute.integer("transB", 1));
        String logitsShape = graph.node("Concat", new String[] {batch, sequence, graph.int64(config.vocabularySize())}, Attribute.integer("axis", 0));
        graph.addNode("Reshape", new String[] {logits2d, logitsShape}, new String[] {LOGITS});
        graph.output(LOGITS, TensorProto.DataType.FLOAT, "batch", "sequence", config.vocabularySize());
        for (int layer = 0; layer < config.layerCount(); layer++) {
            graph.output(presentKey(layer), TensorProto.DataType.FLOAT, "batch", kvHeads, "total_sequence", headDimension);
            graph.output(presentValue(layer), TensorProto.DataType.FLOAT, "batch", kvHeads, "total_sequence", headDimension);
        }
    }

    /** cos and sin of {@code position * inverseFrequency}, {@code [1, 1, sequence, head_dim]}, rotate-half layout. */
    private void buildRotaryTables() {
        float[] inverse = RotaryFrequencies.inverseFrequencies(config);
        String frequencies = graph.float32(inverse, 1, inverse.length);
        String angles = graph.node("Mul", graph.node("Unsqueeze", graph.node("Cast", new String[] {positions}, Attribute.integer("to", 1)), graph.int64(1)), frequencies);
        String full = graph.node("Concat", new String[] {angles, angles}, Attribute.integer("axis", 1));
        String axes = graph.int64(0, 1);
        cos = graph.node("Unsqueeze", graph.node("Cos", full), axes);
        sin = graph.node("Unsqueeze", graph.node("Sin", full), axes);
    }

    private String layer(int layer, String hidden) throws IOException {
        LayerAttention attention = config.layer(layer);
        int heads = config.headCount();
        int kvHeads = config.keyValueHeadCount();
        int headDimension = config.headDimension();
        String normed = rmsNorm(hidden, weight(LayerTensor.ATTENTION_NORM.name(layer)));
        String query = heads(linear(normed, layer, LayerTensor.QUERY_WEIGHT, LayerTensor.QUERY_BIAS), heads);
        String key = heads(linear(normed, layer, LayerTensor.KEY_WEIGHT, LayerTensor.KEY_BIAS), kvHeads);
        String value = heads(linear(normed, layer, LayerTensor.VALUE_WEIGHT, LayerTensor.VALUE_BIAS), kvHeads);
        if (config.qkNorm()) {
            query = rmsNorm(query, weight(LayerTensor.QUERY_NORM.name(layer)));
            key = rmsNorm(key, weight(LayerTensor.KEY_NORM.name(layer)));
        }
        query = rotate(query);
        key = rotate(key);
        graph.addNode("Concat", new String[] {pastKey(layer), key}, new String[] {presentKey(layer)}, Attribute.integer("axis", 2));
        graph.addNode("Concat", new String[] {pastValue(layer), value}, new String[] {presentValue(layer)}, Attribute.integer("axis", 2));
        String keys = repeatKeyValueHeads(presentKey(layer));
        String values = repeatKeyValueHeads(presentValue(layer));
        String scores = graph.node("Mul", graph.node("MatMul", query, graph.node("Transpose", new String[] {keys}, Attribute.integers("perm", 0, 1, 3, 2))),
                graph.scalar((float) (1 / Math.sqrt(headDimension))));
        String probabilities = graph.node("Softmax", new String[] {graph.node("Add", scores, mask(attention, presentKey(layer)))}, Attribute.integer("axis", -1));
        String context = graph.node("Transpose", new String[] {graph.node("MatMul", probabilities, values)}, Attribute.integers("perm", 0, 2, 1, 3));
        String flat = graph.node("Reshape", context, graph.int64(-1, (long) heads * headDimension));
        hidden = graph.node("Add", hidden, linear(flat, layer, LayerTensor.OUTPUT_WEIGHT, LayerTensor.OUTPUT_BIAS));

        String mlpInput = rmsNorm(hidden, weight(LayerTensor.MLP_NORM.name(layer)));
        String gate = linear(mlpInput, layer, LayerTensor.MLP_GATE_WEIGHT, LayerTensor.MLP_GATE_BIAS);
        String up = linear(mlpInput, layer, LayerTensor.MLP_UP_WEIGHT, LayerTensor.MLP_UP_BIAS);
        String activated = graph.node("Mul", graph.node("Mul", gate, graph.node("Sigmoid", gate)), up);
        return graph.node("Add", hidden, linear(activated, layer, LayerTensor.MLP_DOWN_WEIGHT, LayerTensor.MLP_DOWN_BIAS));
    }

    /** {@code [tokens, heads * d]} to {@code [batch, heads, sequence, d]}. */
    private String heads(String projection, int headCount) {
        String shape = graph.node("Concat", new String[] {batch, sequence, graph.int64(headCount, config.headDimension())}, Attribute.integer("axis", 0));
        return graph.node("Transpose", new String[] {graph.node("Reshape", projection, shape)}, Attribute.integers("perm", 0, 2, 1, 3));
    }

    /** Grouped-query attention: each key/value head serves {@code heads / kv_heads} query heads. */
    private String repeatKeyValueHeads(String cache) {
        int group = config.groupSize();
        if (group == 1) {
            return cache;
        }
        String expanded = graph.node("Expand", graph.node("Unsqueeze", cache, graph.int64(2)), graph.int64(1, 1, group, 1, 1));
        return graph.node("Reshape", expanded, graph.int64(0, config.headCount(), -1, config.headDimension()));
    }

    /** Rotate-half RoPE: {@code x * cos + [-x2, x1] * sin}. */
    private String rotate(String x) {
        String[] halves = graph.nodes("Split", 2, new String[] {x}, Attribute.integer("axis", -1), Attribute.integer("num_outputs", 2));
        String rotated = graph.node("Concat", new String[] {graph.node("Neg", halves[1]), halves[0]}, Attribute.integer("axis", -1));
        return graph.node("Add", graph.node("Mul", x, cos), graph.node("Mul", rotated, sin));
    }

    /** Additive mask {@code [sequence, total]}: 0 where a query may see a key, the lowest float elsewhere. Shared by layers of equal attention. */
    private String mask(LayerAttention attention, String presentKey) {
        String existing = masks.get(attention);
        if (existing != null) {
            return existing;
        }
        String total = graph.node("Squeeze", graph.node("Slice", new String[] {graph.node("Shape", presentKey), graph.int64(2), graph.int64(3)}), graph.int64(0));
        String keyPositions = graph.node("Unsqueeze", graph.node("Range", new String[] {graph.int64(true, 0), total, graph.int64(true, 1)}), graph.int64(0));
        String queryPositions = graph.node("Unsqueeze", positions, graph.int64(1));
        String allowed = graph.node("LessOrEqual", keyPositions, queryPositions);
        switch (attention.kind()) {
            case SOFTMAX -> { }
            case SLIDING_WINDOW -> {
                String inWindow = graph.node("Greater", keyPositions, graph.node("Sub", queryPositions, graph.int64(true, attention.window())));
                String sink = graph.node("Less", keyPositions, graph.int64(true, attention.sinks()));
                allowed = graph.node("And", allowed, graph.node("Or", inWindow, sink));
            }
            case GATED_LINEAR -> throw new UnsupportedOperationException("gated linear attention has no mask");
        }
        String mask = graph.node("Where", new String[] {allowed, graph.scalar(0f), graph.scalar(MASKED)});
        masks.put(attention, mask);
        return mask;
    }

    /** RMSNorm over the last axis: {@code x / sqrt(mean(x^2) + eps) * w}. */
    private String rmsNorm(String x, String weight) {
        String meanSquare = graph.node("ReduceMean", new String[] {graph.node("Mul", x, x), graph.int64(-1)}, Attribute.integer("keepdims", 1));
        String inverse = graph.node("Reciprocal", graph.node("Sqrt", graph.node("Add", meanSquare, graph.scalar((float) config.normEpsilon()))));
        return graph.node("Mul", graph.node("Mul", x, inverse), weight);
    }

    private String linear(String input, int layer, LayerTensor weight, LayerTensor bias) throws IOException {
        String weightName = weight(weight.name(layer));
        String biasName = model.tensors().containsKey(bias.name(layer)) ? weight(bias.name(layer)) : null;
        String[] inputs = biasName == null ? new String[] {input, weightName} : new String[] {input, weightName, biasName};
        return graph.node("Gemm", inputs, Attribute.integer("transB", 1));
    }

    private String weight(String name) throws IOException {
        return graph.weight(name, model.tensor(name));
    }
}
