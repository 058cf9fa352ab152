package dev.spikeconv.converter.execution;

import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;

/** Opens a model on the engine of choice. */
public final class Engines {
    private Engines() {}

    public static InferenceEngine open(ModelDescription model, EngineKind kind, OnnxRuntimeOptions options) throws IOException {
        return switch (kind) {
            case ONNX -> OnnxRuntimeEngine.export(model, options);
            case JAVA -> ReferenceModel.load(model);
        };
    }
}
