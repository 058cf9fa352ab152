package dev.spikeconv.formats.testing;

import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.TensorNames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes a {@link TinyModel} as llama2.c's legacy (version 0) or version 1 export. */
public final class Llama2cTestWriter {
    private Llama2cTestWriter() {}

    public static Path write(TinyModel model, Path file, int version) throws IOException {
        ModelConfig config = model.config();
        if (config.qkvBias() || config.qkNorm() || config.outputProjectionBias() || config.mlpBias()
                || config.headCount() * config.headDimension() != config.hiddenSize()) {
            throw new IllegalArgumentException("llama2.c cannot hold " + model.name());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int vocabulary = config.vocabularySize();
        if (version == 0) {
            ints(out, config.hiddenSize(), config.intermediateSize(), config.layerCount(), config.headCount(),
                    config.keyValueHeadCount(), config.tiedEmbeddings() ? vocabulary : -vocabulary, config.maxPositions());
            floats(out, model.tensors().get(TensorNames.EMBEDDING));
            stacked(out, model, LayerTensor.ATTENTION_NORM);
            stacked(out, model, LayerTensor.QUERY_WEIGHT);
            stacked(out, model, LayerTensor.KEY_WEIGHT);
            stacked(out, model, LayerTensor.VALUE_WEIGHT);
            stacked(out, model, LayerTensor.OUTPUT_WEIGHT);
            stacked(out, model, LayerTensor.MLP_NORM);
            stacked(out, model, LayerTensor.MLP_GATE_WEIGHT);
            stacked(out, model, LayerTensor.MLP_DOWN_WEIGHT);
            stacked(out, model, LayerTensor.MLP_UP_WEIGHT);
            floats(out, model.tensors().get(TensorNames.FINAL_NORM));
            floats(out, new float[config.maxPositions() * config.headDimension()]); // legacy freq_cis tables
        }
        else {
            ints(out, 0x616b3432, 1, config.hiddenSize(), config.intermediateSize(), config.layerCount(), config.headCount(),
                    config.keyValueHeadCount(), vocabulary, config.maxPositions());
            out.write(config.tiedEmbeddings() ? 1 : 0);
            out.writeBytes(new byte[256 - out.size()]);
            stacked(out, model, LayerTensor.ATTENTION_NORM);
            stacked(out, model, LayerTensor.MLP_NORM);
            floats(out, model.tensors().get(TensorNames.FINAL_NORM));
            floats(out, model.tensors().get(TensorNames.EMBEDDING));
            stacked(out, model, LayerTensor.QUERY_WEIGHT);
            stacked(out, model, LayerTensor.KEY_WEIGHT);
            stacked(out, model, LayerTensor.VALUE_WEIGHT);
            stacked(out, model, LayerTensor.OUTPUT_WEIGHT);
            stacked(out, model, LayerTensor.MLP_GATE_WEIGHT);
            stacked(out, model, LayerTensor.MLP_DOWN_WEIGHT);
            stacked(out, model, LayerTensor.MLP_UP_WEIGHT);
        }
        if (!config.tiedEmbeddings()) {
            floats(out, model.tensors().get(TensorNames.LM_HEAD));
        }
        Files.write(file, out.toByteArray());
        return file;
    }

    private static void stacked(ByteArrayOutputStream out, TinyModel model, LayerTensor tensor) {
        for (int layer = 0; layer < model.config().layerCount(); layer++) {
            floats(out, CheckpointWriters.interleavedIfQueryOrKey(model, tensor.name(layer)));
        }
    }

    private static void ints(ByteArrayOutputStream out, int... values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int value : values) {
            buffer.putInt(value);
        }
        out.writeBytes(buffer.array());
    }

    private static void floats(ByteArrayOutputStream out, float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            buffer.putFloat(value);
        }
        out.writeBytes(buffer.array());
    }
}
