package dev.spikeconv.converter.onnx;

import com.google.protobuf.ByteString;
import dev.spikeconv.formats.onnx.proto.AttributeProto;
import dev.spikeconv.formats.onnx.proto.GraphProto;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.NodeProto;
import dev.spikeconv.formats.onnx.proto.OperatorSetIdProto;
import dev.spikeconv.formats.onnx.proto.StringStringEntryProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.onnx.proto.TensorShapeProto;
import dev.spikeconv.formats.onnx.proto.TypeProto;
import dev.spikeconv.formats.onnx.proto.ValueInfoProto;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Builds an ONNX graph one node at a time: nodes get generated output names, small constants are
 * stored inline, weights go to the external data file or are referenced where they already lie.
 * Produces a standard-domain model unless a node asks for ONNX Runtime's own operators.
 */
final class OnnxGraphBuilder {
    static final long IR_VERSION = 10;
    /** Opset 23 brings the fused {@code Attention} operator. */
    static final long OPSET = 23;
    /** ONNX Runtime's contributed operators, version 1. */
    static final String MICROSOFT_DOMAIN = "com.microsoft";

    private final GraphProto.Builder graph;
    private final ExternalDataWriter externalData;
    private final Map<String, String> constants = new HashMap<>();
    /** Non-standard operator sets the nodes use, shared with subgraphs. */
    private final Set<String> domains;
    /** Shared with subgraphs: node and value names are unique across the whole model. */
    private final AtomicInteger names;

    OnnxGraphBuilder(String name, ExternalDataWriter externalData) {
        this(name, externalData, new AtomicInteger(), new TreeSet<>());
    }

    private OnnxGraphBuilder(String name, ExternalDataWriter externalData, AtomicInteger names, Set<String> domains) {
        this.graph = GraphProto.newBuilder().setName(name);
        this.externalData = externalData;
        this.names = names;
        this.domains = domains;
    }

    /** A body graph (for Scan) whose values may refer to this graph's values; it holds no external weights. */
    OnnxGraphBuilder subgraph(String name) {
        return new OnnxGraphBuilder(name, null, names, domains);
    }

    GraphProto graph() {
        return graph.build();
    }

    /** A node attribute. */
    record Attribute(AttributeProto proto) {
        static Attribute integer(String name, long value) {
            return new Attribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build());
        }

        static Attribute integers(String name, long... values) {
            AttributeProto.Builder builder = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
            for (long value : values) {
                builder.addInts(value);
            }
            return new Attribute(builder.build());
        }

        static Attribute real(String name, float value) {
            return new Attribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build());
        }

        static Attribute graph(String name, GraphProto graph) {
            return new Attribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.GRAPH).setG(graph).build());
        }
    }

    /** A fresh value name, for outputs of nodes added with {@link #addNode}. */
    String newName(String prefix) {
        return prefix + "_" + names.getAndIncrement();
    }

    /** Adds a node with one output and returns the output's name. */
    String node(String operator, String[] inputs, Attribute... attributes) {
        return nodes(operator, 1, inputs, attributes)[0];
    }

    /** Adds a node with {@code outputCount} outputs and returns their names. */
    String[] nodes(String operator, int outputCount, String[] inputs, Attribute... attributes) {
        String[] outputs = outputNames(operator, outputCount);
        addNode(operator, inputs, outputs, attributes);
        return outputs;
    }

    private String[] outputNames(String operator, int count) {
        String[] outputs = new String[count];
        for (int i = 0; i < count; i++) {
            outputs[i] = operator.toLowerCase(Locale.ROOT) + "_" + names.getAndIncrement();
        }
        return outputs;
    }

    /** Adds a node writing named outputs (graph outputs such as {@code logits}). */
    void addNode(String operator, String[] inputs, String[] outputs, Attribute... attributes) {
        addNode("", operator, inputs, outputs, attributes);
    }

    /**
     * Adds a node of an operator set other than the standard one (ONNX Runtime's {@value #MICROSOFT_DOMAIN}); the model
     * then imports that set. An empty input name skips an optional input.
     */
    String[] nodesInDomain(String domain, String operator, int outputCount, String[] inputs, Attribute... attributes) {
        String[] outputs = outputNames(operator, outputCount);
        addNode(domain, operator, inputs, outputs, attributes);
        domains.add(domain);
        return outputs;
    }

    private void addNode(String domain, String operator, String[] inputs, String[] outputs, Attribute... attributes) {
        NodeProto.Builder node = NodeProto.newBuilder().setDomain(domain).setOpType(operator).setName(operator + "_" + names.getAndIncrement());
        Arrays.stream(inputs).forEach(node::addInput);
        Arrays.stream(outputs).forEach(node::addOutput);
        Arrays.stream(attributes).map(Attribute::proto).forEach(node::addAttribute);
        graph.addNode(node);
    }

    String node(String operator, String input, Attribute... attributes) {
        return node(operator, new String[] {input}, attributes);
    }

    String node(String operator, String first, String second, Attribute... attributes) {
        return node(operator, new String[] {first, second}, attributes);
    }

    /** An inline int64 tensor of the given values (a 1-d vector, or a scalar when {@code scalar}). */
    String int64(boolean scalar, long... values) {
        String key = (scalar ? "s" : "v") + Arrays.toString(values);
        return constants.computeIfAbsent(key, unused -> {
            String name = "const_" + names.getAndIncrement();
            TensorProto.Builder tensor = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE);
            if (!scalar) {
                tensor.addDims(values.length);
            }
            ByteBuffer bytes = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asLongBuffer().put(values);
            graph.addInitializer(tensor.setRawData(ByteString.copyFrom(bytes.array())));
            return name;
        });
    }

    String int64(long... values) {
        return int64(false, values);
    }

    /** An inline float32 tensor: a scalar when {@code dimensions} is empty. */
    String float32(float[] values, long... dimensions) {
        String name = "const_" + names.getAndIncrement();
        TensorProto.Builder tensor = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
        Arrays.stream(dimensions).forEach(tensor::addDims);
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        graph.addInitializer(tensor.setRawData(ByteString.copyFrom(bytes.array())));
        return name;
    }

    /** An inline float64 scalar, made once per value. */
    String float64(double value) {
        return constants.computeIfAbsent("d" + Double.doubleToRawLongBits(value), unused -> {
            String name = "const_" + names.getAndIncrement();
            ByteBuffer bytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(0, value);
            graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.DOUBLE_VALUE)
                    .setRawData(ByteString.copyFrom(bytes.array())));
            return name;
        });
    }

    String scalar(float value) {
        return constants.computeIfAbsent("f" + Float.floatToRawIntBits(value), unused -> float32(new float[] {value}));
    }

    /** A weight stored as float32 in the external data file, under {@code name}. */
    String weight(String name, TensorView tensor) throws IOException {
        ExternalDataWriter.Placement placement = externalData.writeFloats(tensor);
        addExternal(name, tensor.shape().dimensions(), placement);
        return name;
    }

    String weight(String name, float[] values, long... dimensions) throws IOException {
        addExternal(name, TensorProto.DataType.FLOAT, dimensions, externalData.writeFloats(values));
        return name;
    }

    /** An int8 weight whose bytes {@code writer} streams into the external data file. */
    String int8Weight(String name, long[] dimensions, ExternalDataWriter.ByteSource writer) throws IOException {
        addExternal(name, TensorProto.DataType.INT8, dimensions, externalData.writeBytes(writer));
        return name;
    }

    /**
     * A weight whose bytes already lie in {@code file}, a file beside the graph, at {@code offset}: referenced, not
     * copied. ONNX Runtime reads it from there when the session loads.
     */
    String referencedWeight(String name, TensorProto.DataType type, long[] dimensions, String file, long offset, long length) {
        addExternal(name, type, dimensions, file, new ExternalDataWriter.Placement(offset, length));
        return name;
    }

    private void addExternal(String name, long[] dimensions, ExternalDataWriter.Placement placement) {
        addExternal(name, TensorProto.DataType.FLOAT, dimensions, placement);
    }

    private void addExternal(String name, TensorProto.DataType type, long[] dimensions, ExternalDataWriter.Placement placement) {
        addExternal(name, type, dimensions, externalData.fileName(), placement);
    }

    private void addExternal(String name, TensorProto.DataType type, long[] dimensions, String file, ExternalDataWriter.Placement placement) {
        TensorProto.Builder tensor = TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", file))
                .addExternalData(entry("offset", String.valueOf(placement.offset())))
                .addExternalData(entry("length", String.valueOf(placement.length())));
        Arrays.stream(dimensions).forEach(tensor::addDims);
        graph.addInitializer(tensor);
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    /** Declares a graph input of unknown shape but known rank, as Scan bodies need. */
    void input(String name, TensorProto.DataType type, int rank) {
        Object[] dimensions = new Object[rank];
        for (int i = 0; i < rank; i++) {
            dimensions[i] = name + "_" + i;
        }
        input(name, type, dimensions);
    }

    void output(String name, TensorProto.DataType type, int rank) {
        Object[] dimensions = new Object[rank];
        for (int i = 0; i < rank; i++) {
            dimensions[i] = name + "_" + i;
        }
        output(name, type, dimensions);
    }

    /** Declares a graph input; a dimension is a fixed size (Long) or a symbolic name (String). */
    void input(String name, TensorProto.DataType type, Object... dimensions) {
        graph.addInput(valueInfo(name, type, dimensions));
    }

    void output(String name, TensorProto.DataType type, Object... dimensions) {
        graph.addOutput(valueInfo(name, type, dimensions));
    }

    private static ValueInfoProto valueInfo(String name, TensorProto.DataType type, Object... dimensions) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object dimension : dimensions) {
            TensorShapeProto.Dimension.Builder builder = TensorShapeProto.Dimension.newBuilder();
            switch (dimension) {
                case Long size -> builder.setDimValue(size);
                case Integer size -> builder.setDimValue(size);
                case String symbol -> builder.setDimParam(symbol);
                default -> throw new IllegalArgumentException("dimension " + dimension);
            }
            shape.addDim(builder);
        }
        TypeProto tensorType = TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape)).build();
        return ValueInfoProto.newBuilder().setName(name).setType(tensorType).build();
    }

    ModelProto build(String producerVersion) {
        ModelProto.Builder model = ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName("spikeconv")
                .setProducerVersion(producerVersion)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET));
        domains.forEach(domain -> model.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(1)));
        return model.setGraph(graph).build();
    }
}
