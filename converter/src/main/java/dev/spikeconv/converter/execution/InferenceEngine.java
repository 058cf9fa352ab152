package dev.spikeconv.converter.execution;

import dev.spikeconv.formats.model.ModelConfig;

/** A model ready to run: ONNX Runtime on the exported graph, or the plain-Java reference. */
public interface InferenceEngine extends AutoCloseable {
    ModelConfig config();

    InferenceSession newSession();

    @Override
    void close();
}
