package dev.spikeconv.converter.execution;

/** Which implementation runs a model. */
public enum EngineKind {
    /** The model's ONNX graph on ONNX Runtime (CPU). */
    ONNX,
    /** The plain-Java reference forward pass, the oracle of the tests. */
    JAVA
}
