package dev.spikeconv.converter.inspect;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * What {@code spikeconv inspect} reports about a model: format, hyper-parameters, attention per layer,
 * size, and the tensor table. {@link #toJson()} carries the keys of docs/design.md §8 that outside scripts read.
 */
public record ModelInspection(String format, ModelConfig config, long parameters, long bytes, List<TensorRow> tensors, List<String> unusedTensors) {
    /** One canonical tensor as stored. */
    public record TensorRow(String name, String dtype, long[] shape, long bytes) {}

    public ModelInspection {
        tensors = List.copyOf(tensors);
        unusedTensors = List.copyOf(unusedTensors);
    }

    /** Opens the checkpoint at {@code path}, inspects it and closes it. */
    public static ModelInspection inspect(Path path) throws IOException {
        try (ModelDescription model = CheckpointLoader.open(path)) {
            return of(model);
        }
    }

    public static ModelInspection of(ModelDescription model) {
        List<TensorRow> rows = model.tensors().entrySet().stream()
                .map(entry -> {
                    TensorView tensor = entry.getValue();
                    return new TensorRow(entry.getKey(), tensor.dtype().name(), tensor.shape().dimensions(), tensor.byteSize());
                })
                .toList();
        return new ModelInspection(model.format().id(), model.config(), model.parameterCount(), model.storedBytes(), rows, model.unusedTensors());
    }

    public ObjectNode toJson() {
        JsonNodeFactory json = JsonNodeFactory.instance;
        ObjectNode root = json.objectNode();
        root.put("format", format);
        root.put("architecture", config.architecture().id());
        root.put("vocab_size", config.vocabularySize());
        root.put("hidden_size", config.hiddenSize());
        root.put("intermediate_size", config.intermediateSize());
        root.put("num_layers", config.layerCount());
        root.put("num_heads", config.headCount());
        root.put("num_kv_heads", config.keyValueHeadCount());
        root.put("head_dim", config.headDimension());
        root.put("rope_theta", config.ropeTheta());
        root.put("rms_norm_eps", config.normEpsilon());
        root.put("tie_word_embeddings", config.tiedEmbeddings());
        root.put("parameters", parameters);
        root.put("bytes", bytes);
        ArrayNode layers = root.putArray("layers");
        for (int index = 0; index < config.layerCount(); index++) {
            LayerAttention layer = config.layer(index);
            ObjectNode node = layers.addObject();
            node.put("index", index);
            node.put("attention", layer.kind().id());
            if (layer.kind().windowed()) {
                node.put("window", layer.window());
                node.put("sinks", layer.sinks());
            }
            else {
                node.putNull("window");
            }
        }
        ArrayNode tensorArray = root.putArray("tensors");
        for (TensorRow tensor : tensors) {
            ObjectNode node = tensorArray.addObject();
            node.put("name", tensor.name());
            node.put("dtype", tensor.dtype());
            ArrayNode shape = node.putArray("shape");
            Arrays.stream(tensor.shape()).forEach(shape::add);
        }
        ArrayNode unused = root.putArray("unused_tensors");
        unusedTensors.forEach(unused::add);
        return root;
    }
}
