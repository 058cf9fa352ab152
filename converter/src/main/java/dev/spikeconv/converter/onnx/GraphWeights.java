package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.tensor.FileRegion;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The model's tensors as graph values, each made once: referenced where they lie beside the graph, otherwise written to
 * the external data file; int8 tensors as their codes or dequantized to float.
 */
final class GraphWeights {
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final long COPY_CHUNK = 1 << 24;

    private final ModelDescription model;
    private final OnnxGraphBuilder graph;
    /** The folder the graph is written to: stored tensors of files in it are referenced, not copied. */
    private final Path directory;
    private final Map<String, String> initializers = new HashMap<>();

    GraphWeights(ModelDescription model, OnnxGraphBuilder graph, Path directory) {
        this.model = model;
        this.graph = graph;
        this.directory = directory.toAbsolutePath().normalize();
    }

    String floatWeight(String name) throws IOException {
        return floatWeight(name, model.tensor(name));
    }

    /**
     * A float32 value named after the tensor, made once however often it is used: the stored bytes referenced where they
     * lie beside the graph (half-precision ones cast to float, which ONNX Runtime folds at load), else written as float32.
     */
    String floatWeight(String name, TensorView tensor) throws IOException {
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

    /** The codes as stored, {@code [out, in]}. */
    String int8Codes(String name, ScaledInt8Tensor weight) throws IOException {
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
     * Float weights {@code code * scale} {@code [out, in]} of an int8 tensor: one blocked DequantizeLinear over the stored
     * codes and scales. A session that folds int8 weights turns it into a float constant at load (fast GEMMs, 4 bytes per
     * weight); one that does not keeps the codes and dequantizes on every run (1 byte per weight, slower decode).
     */
    String dequantized(String name, ScaledInt8Tensor weight) throws IOException {
        int columns = (int) weight.shape().columns();
        return graph.node("DequantizeLinear", new String[] {int8Codes(name, weight), floatWeight(name + "_scale", weight.scales())},
                Attribute.integer("axis", 1), Attribute.integer("block_size", Math.min(weight.groupSize(), columns)));
    }

    /** The scales of input group {@code index} as a vector {@code [out]}; folded at load like the codes. */
    String scaleColumn(String name, ScaledInt8Tensor weight, int index) throws IOException {
        String scales = floatWeight(name + "_scale", weight.scales());
        String column = graph.node("Slice", new String[] {scales, graph.int64(index), graph.int64(index + 1), graph.int64(1)});
        return graph.node("Reshape", column, graph.int64(weight.shape().dimension(0)));
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
