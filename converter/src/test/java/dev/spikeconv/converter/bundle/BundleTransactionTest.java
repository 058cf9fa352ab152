package dev.spikeconv.converter.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.converter.hardware.ManifestOptions;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.converter.quantization.Int8Quantizer;
import dev.spikeconv.converter.quantization.StoredForm;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
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

class BundleTransactionTest {
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

    /** Replaces o_proj's weight of layer 1 (stored as the bundle stores it), adds a threshold, edits the config, adds a file; then commits. */
    private static void edit(Path bundle, float[] values) throws IOException {
        try (BundleTransaction transaction = BundleTransaction.begin(bundle, note -> { }); ModelDescription model = CheckpointLoader.open(bundle)) {
            transaction.put(WEIGHT, StoredForm.like(model.tensor(WEIGHT), values));
            transaction.put(THRESHOLD, StoredTensor.ofInts(THRESHOLD, Shape.of(1), new int[] {1234}));
            transaction.removeWhere(name -> name.equals("model.layers.0.mlp.down_proj.weight_unused"));
            transaction.editConfig(config -> config.put("comment", "edited"));
            transaction.addFile("note.txt", staged -> new byte[] {'x'});
            transaction.commit(ConversionProgress.NONE);
        }
    }

    @Test
    void replacesQuantizesAddsAndKeepsEverythingElseByteForByte() throws IOException {
        Path bundle = bundle(ConversionOptions.DEFAULT_MAX_SHARD_BYTES);
        Map<String, byte[]> before = tensorBytes(bundle);
        float[] values = replacement(16 * 16);
        edit(bundle, values);

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
        edit(bundle, replacement(16 * 16));
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
        assertThatThrownBy(() -> edit(bundle, replacement(10))).hasMessageContaining("o_proj.weight has 256 values, the new ones 10");
        float[] infinite = replacement(16 * 16);
        infinite[5] = Float.POSITIVE_INFINITY;
        assertThatThrownBy(() -> edit(bundle, infinite)).hasMessageContaining("non-finite");
        // A replacement stored otherwise than the tensor it replaces fails the commit, which leaves nothing behind.
        assertThatThrownBy(() -> {
            try (BundleTransaction transaction = BundleTransaction.begin(bundle, note -> { })) {
                transaction.put(WEIGHT, StoredTensor.ofFloats(WEIGHT, Shape.of(16, 16), replacement(16 * 16)));
                transaction.commit(ConversionProgress.NONE);
            }
        }).hasMessageContaining(WEIGHT + " is stored as I8");
        // An edit that makes the bundle invalid is refused when the staged bundle is read back.
        assertThatThrownBy(() -> {
            try (BundleTransaction transaction = BundleTransaction.begin(bundle, note -> { })) {
                transaction.editConfig(config -> config.put("hidden_size", 17));
                transaction.commit(ConversionProgress.NONE);
            }
        }).isInstanceOf(dev.spikeconv.formats.io.InvalidInputException.class).hasMessageContaining(bundle.toString()).hasMessageNotContaining(".tmp-");
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
    void aSecondWriterIsRefusedWhileATransactionIsOpen() throws IOException {
        Path bundle = bundle(ConversionOptions.DEFAULT_MAX_SHARD_BYTES);
        try (BundleTransaction transaction = BundleTransaction.begin(bundle, note -> { })) {
            assertThat(transaction.bundle()).isEqualTo(bundle.toAbsolutePath().normalize());
            assertThatThrownBy(() -> BundleTransaction.begin(bundle, note -> { })).hasMessageContaining("another spikeconv is writing it");
        }
        // Closed without a commit: the bundle is as it was and free again.
        BundleTransaction.begin(bundle, note -> { }).close();
    }

    /** What a killed writer left (its lock file, a staging folder) is taken over and removed, and the user told so in one line. */
    @Test
    void whatAKilledWriterLeftIsTakenOverWithANote() throws IOException {
        Path bundle = bundle(ConversionOptions.DEFAULT_MAX_SHARD_BYTES);
        Path lockFile = Files.writeString(directory.resolve("." + bundle.getFileName() + ".lock"), "12345");
        Path staging = Files.createDirectories(directory.resolve("." + bundle.getFileName() + ".tmp-12345"));
        Files.writeString(staging.resolve("model.safetensors"), "half written");
        java.util.List<String> notes = new java.util.ArrayList<>();
        BundleTransaction.begin(bundle, notes::add).close();
        assertThat(notes).singleElement().asString().contains("an interrupted spikeconv left", lockFile.getFileName().toString(),
                staging.getFileName().toString(), "taken over and removed");
        assertThat(staging).doesNotExist();
        assertThat(lockFile).doesNotExist();
        notes.clear();
        BundleTransaction.begin(bundle, notes::add).close();
        assertThat(notes).isEmpty();
    }
}
