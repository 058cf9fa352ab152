package dev.spikeconv.formats.testing;

import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.tensor.Shape;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.SequencedMap;

/** An in-memory model with canonical tensor names, written into every format by the test writers. */
public record TinyModel(String name, ModelConfig config, SequencedMap<String, float[]> tensors) {
    public TinyModel {
        tensors = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(tensors));
    }

    public Shape shape(String tensor) {
        return TensorNames.expected(config).get(tensor);
    }

    @Override
    public String toString() {
        return name;
    }
}
