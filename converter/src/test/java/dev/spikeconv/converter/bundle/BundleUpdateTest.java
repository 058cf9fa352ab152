package dev.spikeconv.converter.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.converter.quantization.Int8Quantizer;
import dev.spikeconv.converter.hardware.ManifestOptions;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BundleUpdateTest {
    private static final String WEIGHT = "model.layers.1.self_attn.o_proj.weight";
    private static final String THRESHOLD = "model.layers.1.self_attn.o_proj.spike_threshold_int";

    @TempDir
    Path directory;

    private Path bundle(long maxShardBytes) throws IOException {
        TinyModel model = TinyModels.llama();
        ConversionOptions options = new ConversionOptions(LayerPlans.parse("alternate", 8, 0, model.config()), new QuantizationOptions(true, 8, false, false),
                Bundles.DYNAMIC, false, maxShardBytes, false, List.of(TargetProfiles.shipped("cpu-x86-avx2")), ManifestOptions.DEFAULT);
        return Bundles.convert(model, directory, "bundle", options);
    }

    private static float[] replacement(int length) {
        float[] values = new float[length];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) Math.sin(i * 0.37) * 0.2f;
        }
        return values;
    }

    private static BundleUpdate.Edit edit(float[] values) {
        return new BundleUpdate.Edit(Map.of(WEIGHT, values), Map.of(THRESHOLD, BundleUpdate.NewTensor.ofInts(Shape.of(1), 1234)),
                name -> name.equals("model.layers.0.mlp.down_proj.weight_unused"), config -> config.put("comment", "edited"), Map.of("note.txt", new byte[] {'x'}));
    }

    @Test
    void replacesQuantizesAddsAndKeepsEverythingElseByteForByte() throws IOException {
        Path bundle = bundle(ConversionOptions.DEFAULT_MAX_SHARD_BYTES);
        Map<String, byte[]> before = tensorBytes(bundle);
        float[] values = replacement(16 * 16);
        BundleUpdate.apply(bundle, edit(values), ConversionProgress.NONE);

        Map<String, byte[]> after = tensorBytes(bundle);
        String stored = "model.layers.1.attn.o_proj.weight";
        byte[] codes = new byte[values.length];
        float[] scales = new float[16 * 2];
        Int8Quantizer.quantize(values, 16, 16, 8, codes, scales);
        assertThat(after.get(stored)).isEqualTo(codes);
        assertThat(after).containsKey("model.layers.1.attn.o_proj.spike_threshold_int");
        before.forEach((name, bytes) -> {
            if (!name.startsWith("model.layers.1.attn.o_proj.weight")) {
                assertThat(after.get(name)).as(name).isEqualTo(bytes);
            }
        });
        List<String> order = List.copyOf(after.keySet());
        assertThat(order.indexOf("model.layers.1.attn.o_proj.spike_threshold_int")).isEqualTo(order.indexOf(stored + "_scale") + 1);
        assertThat(JsonDocuments.read(bundle.resolve("config.json"), 1 << 20).path("comment").asText()).isEqualTo("edited");
        assertThat(Files.readString(bundle.resolve("note.txt"))).isEqualTo("x");
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            assertThat(model.tensor(WEIGHT)).isInstanceOf(ScaledInt8Tensor.class);
            assertThat(model.extraTensors()).containsKey(THRESHOLD);
        }
        // The manifest describes the new tensors.
        JsonNode manifest = JsonDocuments.read(bundle.resolve("manifest.cpu-x86-avx2.json"), 1 << 24);
        assertThat(manifest.path("tensors").valueStream().map(node -> node.path("name").asText())).contains("model.layers.1.attn.o_proj.spike_threshold_int");
        assertThat(Files.exists(bundle.resolve("tokenizer.json")) || Files.list(bundle).noneMatch(path -> path.toString().contains("tokenizer")))
                .isTrue();
    }

    @Test
    void aShardedBundleKeepsItsShards() throws IOException {
        Path bundle = bundle(3_000);
        assertThat(bundle.resolve(BundleWriter.INDEX)).exists();
        List<String> shards;
        try (Stream<Path> files = Files.list(bundle)) {
            shards = files.map(path -> path.getFileName().toString()).filter(name -> name.endsWith(".safetensors")).sorted().toList();
        }
        BundleUpdate.apply(bundle, edit(replacement(16 * 16)), ConversionProgress.NONE);
        try (Stream<Path> files = Files.list(bundle)) {
            assertThat(files.map(path -> path.getFileName().toString()).filter(name -> name.endsWith(".safetensors")).sorted().toList()).isEqualTo(shards);
        }
        JsonNode index = JsonDocuments.read(bundle.resolve(BundleWriter.INDEX), 1 << 24);
        assertThat(index.path("weight_map").path("model.layers.1.attn.o_proj.spike_threshold_int").asText())
                .isEqualTo(index.path("weight_map").path("model.layers.1.attn.o_proj.weight").asText());
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            assertThat(model.extraTensors()).containsKey(THRESHOLD);
        }
    }

    @Test
    void aFailedUpdateLeavesTheBundleAsItWas() throws IOException {
        Path bundle = bundle(ConversionOptions.DEFAULT_MAX_SHARD_BYTES);
        Map<String, byte[]> before = tensorBytes(bundle);
        assertThatThrownBy(() -> BundleUpdate.apply(bundle, edit(replacement(10)), ConversionProgress.NONE))
                .hasMessageContaining("replacement for " + WEIGHT + " has 10 values");
        float[] infinite = replacement(16 * 16);
        infinite[5] = Float.POSITIVE_INFINITY;
        assertThatThrownBy(() -> BundleUpdate.apply(bundle, edit(infinite), ConversionProgress.NONE)).hasMessageContaining("non-finite");
        assertThat(tensorBytes(bundle)).containsExactlyEntriesOf(before);
        try (Stream<Path> files = Files.list(directory)) {
            assertThat(files.map(path -> path.getFileName().toString())).noneMatch(name -> name.startsWith("."));
        }
    }

    private static Map<String, byte[]> tensorBytes(Path bundle) throws IOException {
        Map<String, byte[]> bytes = new java.util.LinkedHashMap<>();
        try (Stream<Path> files = Files.list(bundle)) {
            for (Path file : files.filter(path -> path.toString().endsWith(".safetensors")).sorted().toList()) {
                try (SafetensorsFile safetensors = SafetensorsFile.open(file)) {
                    for (StoredTensor tensor : safetensors.tensors().values()) {
                        bytes.put(tensor.name(), tensor.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                    }
                }
            }
        }
        return bytes;
    }

    @Test
    void newTensorsCheckTheirSize() {
        assertThatThrownBy(() -> new BundleUpdate.NewTensor(DType.I32, Shape.of(2), new byte[4])).hasMessageContaining("needs 8 bytes");
    }
}
