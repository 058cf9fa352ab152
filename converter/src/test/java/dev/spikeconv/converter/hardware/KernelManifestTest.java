package dev.spikeconv.converter.hardware;

import static dev.spikeconv.formats.testing.InputErrors.assertInvalid;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.bundle.BundleWriter;
import dev.spikeconv.converter.bundle.ConversionOptions;
import dev.spikeconv.converter.bundle.ConversionProgress;
import dev.spikeconv.converter.bundle.QuantizationOptions;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.TestModels;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KernelManifestTest {
    private static final SpikeSettings DYNAMIC = new SpikeSettings(SpikeSettings.Mode.DYNAMIC, 3, 127, SpikeSettings.Coding.TERNARY, List.of());

    @TempDir
    Path directory;

    private Path stories(String plan, SpikeSettings spike) throws IOException {
        Path source = TestModels.stories260K();
        try (ModelDescription model = CheckpointLoader.open(source)) {
            ConversionOptions options = new ConversionOptions(LayerPlans.parse(plan, 4096, 0, model.config()), QuantizationOptions.DEFAULT, spike,
                    false, ConversionOptions.DEFAULT_MAX_SHARD_BYTES, false);
            return BundleWriter.convert(model, source, directory.resolve(plan + "-" + spike.mode().id()), options, ConversionProgress.NONE).output();
        }
    }

    private static List<String> violations(Path bundle, TargetProfile target) throws IOException {
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            return TargetConstraints.violations(ModelFootprint.of(model), target, ManifestOptions.DEFAULT);
        }
    }

    /** A shipped profile edited as JSON and read back as a user profile. */
    private TargetProfile edited(String id, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode profile = (ObjectNode) JsonDocuments.writer().readTree(resource(id));
        edit.accept(profile);
        Path file = directory.resolve("profile-" + System.nanoTime() + ".json");
        Files.writeString(file, JsonDocuments.writer().writeValueAsString(profile));
        return TargetProfiles.read(file);
    }

    private static String resource(String id) throws IOException {
        try (InputStream stream = TargetProfiles.class.getResourceAsStream("/dev/spikeconv/converter/hardware/" + id + ".json")) {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"spikingbrain", "all-gla"})
    void everyShippedProfileWritesAManifestThatMatchesTheBundle(String plan) throws IOException {
        Path bundle = stories(plan, DYNAMIC);
        assertThat(TargetProfiles.shippedIds()).hasSize(8);
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            for (TargetProfile target : TargetProfiles.shipped()) {
                Path file = KernelManifest.write(model, bundle, target, ManifestOptions.DEFAULT);
                assertThat(file.getFileName().toString()).isEqualTo("manifest." + target.id() + ".json");
                assertThat(ManifestCheck.check(model, bundle, file)).as(target.id()).isEmpty();
                JsonNode manifest = JsonDocuments.read(file, 1 << 24);
                assertThat(manifest.path("layers")).hasSize(5);
                JsonNode prefill = manifest.path("layers").get(0).path("phases").path("prefill");
                assertThat(prefill.path("op_family").asText()).isEqualTo("gla");
                assertThat(prefill.path("kernel").asText()).isNotEmpty();
                assertThat(prefill.path("state_dtype").asText()).isNotEmpty();
                assertThat(prefill.path("projections").get(0).path("weight_packing").path("bits").asInt()).isEqualTo(8);
                assertThat(prefill.path("projections").get(0).path("spike_coding").asText()).isEqualTo("ternary");
                assertThat(manifest.path("memory").path("state_bytes_per_sequence").asLong()).isPositive();
                assertThat(manifest.path("energy_per_token").path("ratio").asDouble()).isBetween(0.0, 1.0);
                assertThat(manifest.path("tensors").size()).isEqualTo(plan.equals("all-gla") ? 102 : 94);
            }
        }
    }

    /**
     * A hybrid layer runs its window on the SWA kernel and its older keys on the GLA kernel, described as what it computes;
     * its sequence memory is the window's cache plus the state, 256 features by d + 1 per key/value head in float32.
     */
    @Test
    void aHybridLayerDescribesItsLinearBranch() throws IOException {
        Path bundle = stories("0:hybrid/64+4,1:swa/64+4,2:hybrid/64+4,3:swa/64+4,4:swa/64+4", DYNAMIC);
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            TargetProfile target = TargetProfiles.shipped("cpu-x86-avx2");
            Path file = KernelManifest.write(model, bundle, target, ManifestOptions.DEFAULT);
            assertThat(ManifestCheck.check(model, bundle, file)).isEmpty();
            JsonNode manifest = JsonDocuments.read(file, 1 << 24);
            JsonNode decode = manifest.path("layers").get(0).path("phases").path("decode");
            assertThat(decode.path("op_family").asText()).isEqualTo("swa");
            assertThat(decode.path("window").asInt()).isEqualTo(64);
            JsonNode branch = decode.path("linear_branch");
            assertThat(branch.path("op_family").asText()).isEqualTo("gla");
            assertThat(branch.path("decay").asText()).isEqualTo("none");
            assertThat(branch.path("features").asInt()).isEqualTo(256);
            assertThat(branch.path("normalizer").asText()).isEqualTo("shared_with_window");
            assertThat(manifest.path("layers").get(1).path("phases").path("decode").has("linear_branch")).isFalse();
            long stateBytes = 2L * model.config().keyValueHeadCount() * 256 * (model.config().headDimension() + 1) * Float.BYTES;
            assertThat(manifest.path("memory").path("state_bytes_per_sequence").asLong()).isEqualTo(stateBytes);
        }
    }

    @Test
    void aChangedTensorOrAnotherBundlesManifestIsCaught() throws IOException {
        Path bundle = stories("spikingbrain", DYNAMIC);
        Path other = stories("all-gla", DYNAMIC);
        Path manifest;
        try (ModelDescription model = CheckpointLoader.open(other)) {
            manifest = KernelManifest.write(model, other, TargetProfiles.shipped("cpu-x86-avx2"), ManifestOptions.DEFAULT);
        }
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            // the all-gla bundle has GLA parameters in layers 1 and 3, which the spikingbrain bundle lacks
            assertThat(ManifestCheck.check(model, bundle, manifest)).contains(
                    "tensor model.layers.1.attn.gk_proj.0.weight is in the manifest but not in the bundle");
        }
        byte[] bytes = Files.readAllBytes(other.resolve("model.safetensors"));
        bytes[bytes.length - 3] ^= 1;
        Files.write(other.resolve("model.safetensors"), bytes);
        try (ModelDescription model = CheckpointLoader.open(other)) {
            assertThat(ManifestCheck.check(model, other, manifest)).singleElement().asString().contains("model.norm.weight")
                    .contains("SHA-256");
        }
    }

    @Test
    void headDimensionNotAMultipleOfTheKernelTile() throws IOException {
        TinyModel model = TinyModels.llama(); // head_dim 4
        Path source = CheckpointWriters.writeSafetensors(model, directory.resolve("source"), DType.F32, 1);
        Path bundle;
        try (ModelDescription description = CheckpointLoader.open(source)) {
            bundle = BundleWriter.convert(description, source, directory.resolve("narrow"), new ConversionOptions(LayerPlans.parse("all-gla", 1, 0,
                    model.config()), QuantizationOptions.DEFAULT, DYNAMIC, false, ConversionOptions.DEFAULT_MAX_SHARD_BYTES, false), ConversionProgress.NONE).output();
        }
        assertThat(violations(bundle, TargetProfiles.shipped("cuda-sm80"))).singleElement().asString()
                .isEqualTo("head_dim_multiple: layer 0 (gla) has head_dim 4, not a multiple of 8");
        try (ModelDescription description = CheckpointLoader.open(bundle)) {
            assertInvalid(() -> KernelManifest.write(description, bundle, TargetProfiles.shipped("cuda-sm80"), ManifestOptions.DEFAULT),
                    "breaks target cuda-sm80", "head_dim_multiple");
        }
        assertThat(bundle.resolve("manifest.cuda-sm80.json")).doesNotExist();
    }

    @Test
    void timeStepsAboveTheTargetMaximum() throws IOException {
        TargetProfile shortWindows = edited("neuromorphic-event", profile -> ((ObjectNode) profile.get("constraints")).put("max_time_steps", 15));
        Path ternary = stories("dense", DYNAMIC);
        assertThat(violations(ternary, shortWindows)).singleElement().asString()
                .isEqualTo("max_time_steps: ternary coding of counts up to 127 takes 127 time steps per window, above 15");
        Path bitwise = stories("spikingbrain", new SpikeSettings(SpikeSettings.Mode.DYNAMIC, 3, 127, SpikeSettings.Coding.BITWISE, List.of()));
        assertThat(violations(bitwise, shortWindows)).isEmpty(); // 7 bit-planes
    }

    @Test
    void thresholdsTheTargetCannotHold() throws IOException {
        Path bundle = stories("dense", DYNAMIC);
        TargetProfile staticOnly = edited("neuromorphic-event", profile -> {
            ArrayNode modes = ((ObjectNode) profile.get("constraints")).putArray("threshold_modes");
            modes.add("static");
        });
        assertThat(violations(bundle, staticOnly)).singleElement().asString().startsWith("threshold_modes: the model uses dynamic thresholds");
        makeStatic(bundle, 100_000);
        assertThat(violations(bundle, TargetProfiles.shipped("neuromorphic-event"))).singleElement().asString()
                .isEqualTo("threshold_bits: a static threshold of 100000 needs 17 bits, above 16");
    }

    /** Turns a bundle static: config mode and one calibrated threshold of {@code value}, as calibrate would store it. */
    private static void makeStatic(Path bundle, int value) throws IOException {
        Path config = bundle.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"mode\" : \"dynamic\"", "\"mode\" : \"static\""));
        Path file = bundle.resolve("model.safetensors");
        Path rewritten = bundle.resolve("rewritten.safetensors");
        try (SafetensorsFile safetensors = SafetensorsFile.open(file)) {
            List<SafetensorsWriter.TensorEntry> entries = new ArrayList<>();
            for (StoredTensor tensor : safetensors.tensors().values()) {
                entries.add(new SafetensorsWriter.TensorEntry(tensor.name(), tensor.dtype(), tensor.shape()));
            }
            entries.add(new SafetensorsWriter.TensorEntry("model.layers.0.attn.q_proj.spike_threshold_int", DType.I32, Shape.of(1)));
            entries.add(new SafetensorsWriter.TensorEntry("model.layers.0.attn.q_proj.spike_threshold_exp", DType.I32, Shape.of()));
            Map<String, StoredTensor> tensors = safetensors.tensors();
            SafetensorsWriter.write(rewritten, entries, Map.of("format", "pt"), (entry, channel) -> {
                StoredTensor tensor = tensors.get(entry.name());
                ByteBuffer bytes = tensor != null ? tensor.data().asByteBuffer()
                        : ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(entry.name().endsWith("_int") ? value : 10).flip();
                SafetensorsWriter.writeFully(channel, bytes);
            });
        }
        Files.move(rewritten, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void weightsBeyondTheTargetMemoryAndTooWideFanIn() throws IOException {
        Path bundle = stories("spikingbrain", DYNAMIC);
        TargetProfile small = edited("cpu-x86-avx2", profile -> ((ObjectNode) profile.get("memory")).put("capacity_bytes", 1_100_000));
        assertThat(violations(bundle, small)).singleElement().asString().startsWith("memory: 2492864 bytes (weights 392640 + state and caches")
                .endsWith("exceed the target's 1100000");
        TargetProfile narrow = edited("neuromorphic-event", profile -> ((ObjectNode) profile.get("constraints")).put("max_fan_in", 100));
        assertThat(violations(bundle, narrow)).allMatch(violation -> violation.startsWith("max_fan_in: layer "))
                .contains("max_fan_in: layer 0 down_proj has 172 inputs per neuron, above 100");
    }

    @Test
    void anOpFamilyTheTargetLacks() throws IOException {
        Path floatInputs = stories("spikingbrain", SpikeSettings.OFF);
        assertThat(violations(floatInputs, TargetProfiles.shipped("neuromorphic-event"))).singleElement().asString()
                .isEqualTo("op_family: layer 0 needs int8_gemm, which the target has no kernel for");
    }

    @Test
    void userProfilesAreValidated() throws IOException {
        assertInvalid(() -> edited("cuda-sm80", profile -> ((ObjectNode) profile.get("ops")).putObject("flash").put("kernel", "x")),
                "ops.flash", "an op family: gla, swa", "unknown op family");
        assertInvalid(() -> edited("cuda-sm80", profile -> profile.remove("constraints")), "constraints: expected a value, found nothing");
        assertInvalid(() -> edited("cuda-sm80", profile -> ((ObjectNode) profile.get("memory")).put("capacity_bytes", 80)),
                "memory.capacity_bytes", "looks like gigabytes");
        assertInvalid(() -> edited("cuda-sm80", profile -> ((ObjectNode) profile.get("memory")).put("capacity_gb", 80)),
                "memory.capacity_gb", "an unknown field");
        assertInvalid(() -> edited("cuda-sm80", profile -> ((ObjectNode) profile.get("energy_pj")).put("int8_add", 30000)),
                "energy_pj.int8_add", "picojoules");
        assertInvalid(() -> edited("cuda-sm80", profile -> profile.put("id", "Bad Id")), "id", "lowercase");
        assertInvalid(() -> edited("cuda-sm80", profile -> ((ObjectNode) profile.get("ops").get("swa")).remove("window_convention")),
                "ops.swa.window_convention");
    }
}
