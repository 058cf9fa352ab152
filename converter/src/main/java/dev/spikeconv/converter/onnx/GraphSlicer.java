package dev.spikeconv.converter.onnx;

import dev.spikeconv.formats.onnx.proto.AttributeProto;
import dev.spikeconv.formats.onnx.proto.GraphProto;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.NodeProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.onnx.proto.TypeProto;
import dev.spikeconv.formats.onnx.proto.ValueInfoProto;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A part of a graph as a graph of its own: the nodes that compute some of its values from others, with the initializers
 * they read (still pointing at the same external data), unchanged. A decoder's layers cut this way run one session at a
 * time, so a model far larger than memory runs on ONNX Runtime exactly as its whole graph would, a layer's weights at
 * a time.
 */
final class GraphSlicer {
    private GraphSlicer() {}

    /**
     * The part of {@code model} that computes {@code outputs} from {@code start} (a value inside the graph that becomes an
     * input, float32 of rank {@code startRank}) and whatever graph inputs those nodes read.
     */
    static ModelProto slice(ModelProto model, String start, int startRank, List<String> outputs) {
        GraphProto graph = model.getGraph();
        Map<String, Integer> producers = new HashMap<>();
        for (int index = 0; index < graph.getNodeCount(); index++) {
            for (String output : graph.getNode(index).getOutputList()) {
                producers.put(output, index);
            }
        }
        Map<String, TensorProto> initializers = new HashMap<>();
        graph.getInitializerList().forEach(initializer -> initializers.put(initializer.getName(), initializer));
        Map<String, ValueInfoProto> graphInputs = new HashMap<>();
        graph.getInputList().forEach(input -> graphInputs.put(input.getName(), input));

        Set<Integer> kept = new HashSet<>();
        Set<String> usedInitializers = new LinkedHashSet<>();
        Set<String> usedInputs = new LinkedHashSet<>();
        Set<String> seen = new HashSet<>();
        Deque<String> pending = new ArrayDeque<>(outputs);
        while (!pending.isEmpty()) {
            String value = pending.pop();
            if (value.isEmpty() || !seen.add(value)) {
                continue;
            }
            if (value.equals(start)) {
                continue;
            }
            if (initializers.containsKey(value)) {
                usedInitializers.add(value);
                continue;
            }
            if (graphInputs.containsKey(value)) {
                usedInputs.add(value);
                continue;
            }
            Integer producer = producers.get(value);
            if (producer == null) {
                throw new IllegalArgumentException("the graph has no value " + value + " to slice at");
            }
            if (kept.add(producer)) {
                NodeProto node = graph.getNode(producer);
                pending.addAll(node.getInputList());
                for (AttributeProto attribute : node.getAttributeList()) {
                    if (attribute.hasG()) {
                        pending.addAll(outerValues(attribute.getG()));
                    }
                }
            }
        }
        GraphProto.Builder sliced = GraphProto.newBuilder().setName(graph.getName() + "_slice");
        for (int index = 0; index < graph.getNodeCount(); index++) {
            if (kept.contains(index)) {
                sliced.addNode(graph.getNode(index));
            }
        }
        usedInitializers.forEach(name -> sliced.addInitializer(initializers.get(name)));
        for (ValueInfoProto input : graph.getInputList()) {
            if (usedInputs.contains(input.getName())) {
                sliced.addInput(input);
            }
        }
        if (!start.isEmpty() && seen.contains(start)) {
            sliced.addInput(floatValue(start, startRank));
        }
        outputs.forEach(output -> sliced.addOutput(floatValue(output, -1)));
        return model.toBuilder().setGraph(sliced).build();
    }

    /** Values a subgraph (a Scan or If body) reads from the graphs around it: read by its nodes, made neither by them nor its inputs. */
    private static Set<String> outerValues(GraphProto body) {
        Set<String> local = new HashSet<>();
        body.getInputList().forEach(input -> local.add(input.getName()));
        body.getInitializerList().forEach(initializer -> local.add(initializer.getName()));
        body.getNodeList().forEach(node -> local.addAll(node.getOutputList()));
        Set<String> outer = new LinkedHashSet<>();
        for (NodeProto node : body.getNodeList()) {
            for (String input : node.getInputList()) {
                if (!input.isEmpty() && !local.contains(input)) {
                    outer.add(input);
                }
            }
            for (AttributeProto attribute : node.getAttributeList()) {
                if (attribute.hasG()) {
                    outerValues(attribute.getG()).stream().filter(value -> !local.contains(value)).forEach(outer::add);
                }
            }
        }
        return outer;
    }

    /** A float32 value of known rank (symbolic sizes), or of unknown shape when {@code rank} is negative. */
    private static ValueInfoProto floatValue(String name, int rank) {
        TypeProto.Tensor.Builder tensor = TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE);
        if (rank >= 0) {
            var shape = dev.spikeconv.formats.onnx.proto.TensorShapeProto.newBuilder();
            for (int i = 0; i < rank; i++) {
                shape.addDim(dev.spikeconv.formats.onnx.proto.TensorShapeProto.Dimension.newBuilder().setDimParam(name + "_" + i));
            }
            tensor.setShape(shape);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(tensor)).build();
    }
}
