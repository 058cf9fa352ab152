package dev.spikeconv.converter.engines;

import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.execution.InferenceEngine;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.ExternalWeightCheck;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Opens a model on the engine of choice. */
public final class Engines {
    private Engines() {}

    /** Runs {@code model} as described, writing a fresh ONNX graph for the ONNX engine. */
    public static InferenceEngine open(ModelDescription model, EngineKind kind, OnnxRuntimeOptions options) throws IOException {
        return switch (kind) {
            case ONNX -> OnnxRuntimeEngine.export(model, options);
            case JAVA -> ReferenceModel.load(model);
        };
    }

    /**
     * A bundle runs its own {@code model.onnx} on ONNX Runtime; any other checkpoint gets a graph from
     * {@link OnnxRuntimeEngine#export}: built in memory over its files, or written into a temporary folder.
     */
    public static InferenceEngine open(ModelDescription model, Path path, EngineKind kind, OnnxRuntimeOptions options) throws IOException {
        return switch (kind) {
            case ONNX -> {
                Path graph = path.resolve(DecoderGraphWriter.MODEL_FILE);
                if (model.config().architecture() == Architecture.GLA_SWA && Files.isDirectory(path) && Files.isRegularFile(graph)) {
                    // The graph reads the bundle's safetensors by offset: refuse to run it on bytes that moved.
                    List<String> problems = ExternalWeightCheck.problems(graph);
                    if (!problems.isEmpty()) {
                        throw InvalidInputException.forFile(path, problems.getFirst());
                    }
                    yield OnnxRuntimeEngine.open(graph, model.config(), options);
                }
                yield OnnxRuntimeEngine.export(model, options);
            }
            case JAVA -> ReferenceModel.load(model);
        };
    }
}
