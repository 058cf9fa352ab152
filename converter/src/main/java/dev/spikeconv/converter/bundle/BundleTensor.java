package dev.spikeconv.converter.bundle;

import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;

/**
 * One tensor of the bundle's safetensors, under its SpikingBrain name, with how to produce its bytes
 * and how many source bytes producing them reads (for progress and throughput).
 */
record BundleTensor(String name, DType dtype, Shape shape, long sourceBytes, SafetensorsWriter.TensorContent content) {
    SafetensorsWriter.TensorEntry entry() {
        return new SafetensorsWriter.TensorEntry(name, dtype, shape);
    }

    long byteSize() {
        return dtype.byteSize(shape.elementCount());
    }
}
