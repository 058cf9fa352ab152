package dev.spikeconv.formats.hf;

import static dev.spikeconv.formats.testing.InputErrors.assertInvalid;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.TensorBytes;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SpikingBrain-layout folders (what spikeconv bundles are) read back under canonical names. */
class GlaSwaCheckpointTest {
    private static final List<LayerAttention> LAYERS = List.of(LayerAttention.gatedLinear(), LayerAttention.slidingWindow(8, 2));

    @TempDir
    Path directory;

    private static TinyModel hybrid() {
        ModelConfig config = TinyModels.llama().config().toBuilder().architecture(Architecture.GLA_SWA).layers(LAYERS).build(Path.of("hybrid"));
        return TinyModels.random("hybrid", config, 9);
    }

    /** Writes the model with SpikingBrain names; the down projections as int8 codes with per-row scales. */
    private Path write(TinyModel model, ObjectNode config) throws IOException {
        Path folder = Files.createDirectories(directory.resolve("bundle"));
        Files.writeString(folder.resolve("config.json"), JsonDocuments.writer().writeValueAsString(config));
        List<SafetensorsWriter.TensorEntry> entries = new ArrayList<>();
        for (String name : model.tensors().keySet()) {
            boolean int8 = name.endsWith("mlp.down_proj.weight");
            Shape shape = model.shape(name);
            entries.add(new SafetensorsWriter.TensorEntry(SpikingBrainNames.fromCanonical(name), int8 ? DType.I8 : DType.F32, shape));
            if (int8) {
                entries.add(new SafetensorsWriter.TensorEntry(SpikingBrainNames.fromCanonical(name) + "_scale", DType.F32, Shape.of(shape.dimension(0), 1)));
            }
        }
        SafetensorsWriter.write(folder.resolve("model.safetensors"), entries, Map.of("format", "pt"), (entry, channel) -> {
            String canonical = SpikingBrainNames.toCanonical(entry.name().replace("_scale", "")).orElseThrow();
            float[] values = model.tensors().get(canonical);
            byte[] bytes;
            if (entry.dtype() == DType.I8) {
                bytes = new byte[values.length];
                for (int i = 0; i < values.length; i++) {
                    bytes[i] = (byte) (i % 7 - 3);
                }
            }
            else if (entry.name().endsWith("_scale")) {
                float[] scales = new float[(int) entry.shape().elementCount()];
                java.util.Arrays.fill(scales, 0.25f);
                bytes = TensorBytes.encode(scales, DType.F32);
            }
            else {
                bytes = TensorBytes.encode(values, DType.F32);
            }
            SafetensorsWriter.writeFully(channel, ByteBuffer.wrap(bytes));
        });
        return folder;
    }

    private static ObjectNode spikeconvConfig(TinyModel model) {
        ObjectNode config = CheckpointWriters.hfConfig(model.config());
        ObjectNode spikeconv = config.putObject("spikeconv");
        ArrayNode layers = spikeconv.putArray("layers");
        layers.addObject().put("index", 0).put("attention", "gla").putNull("window").put("sinks", 0);
        layers.addObject().put("index", 1).put("attention", "swa").put("window", 8).put("sinks", 2);
        spikeconv.putObject("quantization").put("bits", 8).put("group", 0);
        config.putArray("attn_layers").add(1);
        config.put("sliding_window", 8);
        return config;
    }

    @Test
    void readsSpikingBrainNamesAndInt8WeightsWithTheirScales() throws IOException {
        TinyModel model = hybrid();
        Path folder = write(model, spikeconvConfig(model));
        try (ModelDescription loaded = CheckpointLoader.open(folder)) {
            assertThat(loaded.config()).isEqualTo(model.config());
            assertThat(loaded.tensors().keySet()).containsExactlyElementsOf(model.tensors().keySet());
            assertThat(loaded.unusedTensors()).isEmpty();
            assertThat(loaded.tensor(LayerTensor.DECAY_GATE_DOWN_WEIGHT.name(0)).shape()).isEqualTo(Shape.of(16, 16));
            assertThat(loaded.tensor(LayerTensor.HEAD_OUTPUT_NORM.name(0)).toFloats()).containsExactly(model.tensors().get(LayerTensor.HEAD_OUTPUT_NORM.name(0)));
            assertThat(loaded.tensor(TensorNames.EMBEDDING).toFloats()).containsExactly(model.tensors().get(TensorNames.EMBEDDING));
            ScaledInt8Tensor down = (ScaledInt8Tensor) loaded.tensor(LayerTensor.MLP_DOWN_WEIGHT.name(1));
            assertThat(down.dtype()).isEqualTo(DType.I8);
            assertThat(down.groupSize()).isEqualTo(24);
            assertThat(down.toFloats()[0]).isEqualTo(-0.75f);
        }
    }

    @Test
    void spikingBrainConfigWithoutASpikeconvSection() throws IOException {
        TinyModel model = hybrid();
        ObjectNode config = spikeconvConfig(model);
        config.remove("spikeconv");
        Path folder = write(model, config);
        try (ModelDescription loaded = CheckpointLoader.open(folder)) {
            // attn_layers + sliding_window describe the layers; sinks are a spikeconv extension
            assertThat(loaded.config().layers()).containsExactly(LayerAttention.gatedLinear(), LayerAttention.slidingWindow(8, 0));
            // one scale column means per-row scales whatever the group
            assertThat(((ScaledInt8Tensor) loaded.tensor(LayerTensor.MLP_DOWN_WEIGHT.name(0))).groupSize()).isEqualTo(24);
        }
    }

    @Test
    void layerListThatDisagreesWithTheLayerCount() throws IOException {
        TinyModel model = hybrid();
        ObjectNode config = spikeconvConfig(model);
        ((ArrayNode) config.get("spikeconv").get("layers")).remove(1);
        Path folder = write(model, config);
        assertInvalid(() -> CheckpointLoader.open(folder), "spikeconv.layers", "2 entries");
    }

    @Test
    void scalesThatDoNotFitTheDeclaredGroup() throws IOException {
        TinyModel model = hybrid();
        ObjectNode config = spikeconvConfig(model);
        ((ObjectNode) config.get("spikeconv").get("quantization")).put("group", 7);
        Path folder = write(model, config);
        assertInvalid(() -> CheckpointLoader.open(folder), "model.layers.0.mlp.down_proj.weight_scale", "F32 [16, 4] for group 7", "found F32 [16, 1]");
    }
}
