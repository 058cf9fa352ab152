package dev.spikeconv.converter.onnx;

import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.StringStringEntryProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.StoredTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks that every external weight of a graph lies where the graph says: in a file beside it, inside that file, and
 * in a safetensors file on exactly one stored tensor of the same dtype. A bundle's graph points into its safetensors,
 * so safetensors rewritten with another layout would otherwise feed ONNX Runtime the wrong bytes without a word.
 */
public final class ExternalWeightCheck {
    /** A stored tensor's bytes: where they start in their file, how many, which dtype. */
    private record StoredRange(String name, DType dtype, long length) {}

    private ExternalWeightCheck() {}

    /** One line per problem; empty when every reference holds. A file that is not an ONNX model is an {@link UnloadableGraphException}. */
    public static List<String> problems(Path graphFile) throws IOException {
        ModelProto model = OnnxRuntimeEngine.readGraph(graphFile);
        Path folder = graphFile.toAbsolutePath().getParent();
        Map<String, Map<Long, StoredRange>> safetensors = new HashMap<>();
        List<String> problems = new ArrayList<>();
        for (TensorProto tensor : model.getGraph().getInitializerList()) {
            if (tensor.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                String problem = problem(tensor, folder, safetensors);
                if (problem != null) {
                    problems.add(graphFile.getFileName() + ": weight " + tensor.getName() + " " + problem);
                }
            }
        }
        return problems;
    }

    private static String problem(TensorProto tensor, Path folder, Map<String, Map<Long, StoredRange>> safetensors) throws IOException {
        Map<String, String> entries = new HashMap<>();
        for (StringStringEntryProto entry : tensor.getExternalDataList()) {
            entries.put(entry.getKey(), entry.getValue());
        }
        String location = entries.getOrDefault("location", "");
        long offset;
        long length;
        try {
            offset = Long.parseLong(entries.getOrDefault("offset", "0"));
            length = Long.parseLong(entries.getOrDefault("length", "-1"));
        }
        catch (NumberFormatException e) {
            return "has an unreadable offset or length";
        }
        if (location.isEmpty() || location.contains("/") || location.contains("\\") || location.startsWith(".")) {
            return "points outside the graph's folder (" + location + ")";
        }
        Path file = folder.resolve(location);
        if (!Files.isRegularFile(file)) {
            return "points into " + location + ", which is missing";
        }
        if (offset < 0 || length < 0 || offset > Files.size(file) - length) {
            return "points past the end of " + location;
        }
        if (!location.endsWith(".safetensors")) {
            return null;
        }
        Map<Long, StoredRange> ranges = safetensors.get(location);
        if (ranges == null) {
            ranges = new HashMap<>();
            try (SafetensorsFile stored = SafetensorsFile.open(file)) {
                for (StoredTensor storedTensor : stored.tensors().values()) {
                    long start = storedTensor.fileRegion().orElseThrow().offset();
                    ranges.put(start, new StoredRange(storedTensor.name(), storedTensor.dtype(), storedTensor.byteSize()));
                }
            }
            safetensors.put(location, ranges);
        }
        StoredRange range = ranges.get(offset);
        DType expected = storedType(tensor.getDataType());
        if (range == null || range.length() != length || range.dtype() != expected) {
            return "does not match a stored tensor of " + location + " at offset " + offset + " (" + length + " bytes of " + expected
                    + "); the safetensors were rewritten after the graph: write the graph again (spikeconv convert)";
        }
        return null;
    }

    /** The safetensors dtype of an ONNX element type a bundle's graph references; null for others. */
    private static DType storedType(int onnxType) {
        return switch (TensorProto.DataType.forNumber(onnxType)) {
            case INT8 -> DType.I8;
            case FLOAT -> DType.F32;
            case FLOAT16 -> DType.F16;
            case BFLOAT16 -> DType.BF16;
            case null, default -> null;
        };
    }
}
