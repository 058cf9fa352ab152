package dev.spikeconv.converter.execution;

import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;

/** Opens a model on either engine, for tests that run both. */
final class Engines {
    private Engines() {}

    static InferenceEngine open(ModelDescription model, EngineKind kind) throws IOException {
        return switch (kind) {
            case ONNX -> OnnxRuntimeEngine.export(model, OnnxRuntimeOptions.DEFAULT);
            case JAVA -> ReferenceModel.load(model);
        };
    }

    static float[][] logits(ModelDescription model, EngineKind kind, int[] tokens) throws IOException {
        try (InferenceEngine engine = open(model, kind); InferenceSession session = engine.newSession()) {
            return session.forward(tokens);
        }
    }
}
