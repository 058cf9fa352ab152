package dev.spikeconv.converter.execution;

import dev.spikeconv.converter.engines.Engines;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;

/** Runs a model once on either engine, for tests that compare engines. */
final class EngineRuns {
    private EngineRuns() {}

    static InferenceEngine open(ModelDescription model, EngineKind kind) throws IOException {
        return Engines.open(model, kind, OnnxRuntimeOptions.DEFAULT);
    }

    static float[][] logits(ModelDescription model, EngineKind kind, int[] tokens) throws IOException {
        try (InferenceEngine engine = open(model, kind); InferenceSession session = engine.newSession()) {
            return session.forward(tokens);
        }
    }
}
