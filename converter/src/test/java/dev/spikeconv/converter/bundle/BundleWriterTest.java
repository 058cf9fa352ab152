package dev.spikeconv.converter.bundle;

import static dev.spikeconv.formats.testing.InputErrors.assertInvalid;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.ExternalWeightCheck;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.converter.quantization.Int8Quantizer;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.hf.SpikingBrainNames;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.StringStringEntryProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BundleWriterTest {
    private static final int[] TOKENS = Bundles.tokens(40, 40, 5);

    @TempDir
    Path directory;

    @Test
    void denseUnquantizedWithoutSpikesGivesTheSourceLogits() throws IOException {
        for (TinyModel model : List.of(TinyModels.qwen3(), TinyModels.mistral(), TinyModels.llamaTied())) {
            Path bundle = Bundles.convert(model, directory, model.name(),
                    Bundles.options("dense", 1, 0, QuantizationOptions.NONE, SpikeSettings.OFF, model));
            Path source = directory.resolve(model.name() + "-source");
            for (EngineKind kind : EngineKind.values()) {
                assertThat(Bundles.maximumDifference(Bundles.logits(source, kind, TOKENS), Bundles.logits(bundle, kind, TOKENS)))
                        .as("%s on %s", model, kind).isLessThan(1e-5);
            }
            try (ModelDescription loaded = CheckpointLoader.open(bundle)) {
                assertThat(loaded.config().architecture()).isEqualTo(Architecture.GLA_SWA);
                assertThat(loaded.config().layers()).isEqualTo(model.config().layers());
            }
        }
    }

    @Test
    void sameInputsAndOptionsGiveByteIdenticalBundles() throws IOException {
        TinyModel model = TinyModels.qwen2();
        ConversionOptions options = Bundles.options("spikingbrain", 1, 0, new QuantizationOptions(true, 8, false, false), Bundles.DYNAMIC, model);
        Path first = Bundles.convert(model, directory, "first", options);
        Path second = Bundles.convert(model, directory, "second", options);
        Map<String, byte[]> firstFiles = contents(first);
        Map<String, byte[]> secondFiles = contents(second);
        assertThat(firstFiles.keySet()).containsExactlyElementsOf(secondFiles.keySet()).contains("config.json", "model.safetensors", "model.onnx");
        firstFiles.forEach((name, bytes) -> assertThat(secondFiles.get(name)).as(name).isEqualTo(bytes));
    }

    private static SequencedMap<String, byte[]> contents(Path folder) throws IOException {
        SequencedMap<String, byte[]> files = new LinkedHashMap<>();
        try (Stream<Path> paths = Files.walk(folder)) {
            for (Path path : paths.filter(Files::isRegularFile).sorted().toList()) {
                files.put(folder.relativize(path).toString(), Files.readAllBytes(path));
            }
        }
        return files;
    }

    @Test
    void int8WeightsAreTheQuantizerAppliedToTheSource() throws IOException {
        TinyModel model = TinyModels.llama();
        Path bundle = Bundles.convert(model, directory, "int8", Bundles.options("alternate", 8, 0, new QuantizationOptions(true, 8, false, false), Bundles.DYNAMIC, model));
        String name = LayerTensor.MLP_DOWN_WEIGHT.name(1);
        float[] weights = model.tensors().get(name);
        int rows = (int) model.shape(name).dimension(0);
        int columns = (int) model.shape(name).dimension(1);
        byte[] codes = new byte[weights.length];
        float[] scales = new float[rows * Int8Quantizer.groupsPerRow(columns, 8)];
        Int8Quantizer.quantize(weights, rows, columns, 8, codes, scales);
        try (SafetensorsFile file = SafetensorsFile.open(bundle.resolve("model.safetensors"))) {
            StoredTensor storedCodes = file.tensors().get("model.layers.1.mlp.down_proj.weight");
            StoredTensor storedScales = file.tensors().get("model.layers.1.mlp.down_proj.weight_scale");
            assertThat(storedCodes.dtype()).isEqualTo(DType.I8);
            assertThat(storedCodes.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(codes);
            assertThat(storedScales.toFloats()).containsExactly(scales);
            assertThat(storedScales.shape().dimensions()).containsExactly(rows, 3);
            // norms and embeddings keep their source dtype and values; GLA layers have their new parameters
            assertThat(file.tensors().get("model.embeddings.weight").dtype()).isEqualTo(DType.F32);
            assertThat(file.tensors()).containsKeys("model.layers.0.attn.gk_proj.0.weight", "model.layers.0.attn.gk_proj.1.bias",
                    "model.layers.0.attn.g_norm.weight", "model.layers.1.attn_norm.weight", "model.layers.1.mlp_norm.weight");
            assertThat(file.tensors()).doesNotContainKey("model.layers.1.attn.gk_proj.0.weight");
        }
        try (ModelDescription loaded = CheckpointLoader.open(bundle)) {
            assertThat(loaded.tensor(name)).isInstanceOf(ScaledInt8Tensor.class);
            // The config records each int8 tensor's relative error, computed here in double from the source and the bundle.
            JsonNode errors = JsonDocuments.read(bundle.resolve("config.json"), 1 << 20).path("spikeconv").path("quantization").path(BundleConfig.RELATIVE_ERRORS);
            List<String> int8 = loaded.tensors().entrySet().stream().filter(entry -> entry.getValue() instanceof ScaledInt8Tensor).map(Map.Entry::getKey)
                    .map(SpikingBrainNames::fromCanonical).toList();
            assertThat(errors.propertyStream().map(Map.Entry::getKey).toList()).containsExactlyInAnyOrderElementsOf(int8).hasSize(7 * model.config().layerCount());
            for (Map.Entry<String, TensorView> tensor : loaded.tensors().entrySet()) {
                if (tensor.getValue() instanceof ScaledInt8Tensor stored) {
                    float[] source = model.tensors().get(tensor.getKey());
                    float[] decoded = new float[source.length];
                    stored.readFloats(0, decoded, 0, decoded.length);
                    double error = 0;
                    double norm = 0;
                    for (int i = 0; i < source.length; i++) {
                        error += Math.pow((double) source[i] - decoded[i], 2);
                        norm += (double) source[i] * source[i];
                    }
                    assertThat(errors.path(SpikingBrainNames.fromCanonical(tensor.getKey())).asDouble()).as(tensor.getKey())
                            .isCloseTo(Math.sqrt(error / norm), org.assertj.core.api.Assertions.within(Math.sqrt(error / norm) * 1e-5));
                }
            }
        }
    }

    @Test
    void refusesToOverwriteWithoutForceAndReplacesWithIt() throws IOException {
        TinyModel model = TinyModels.llama();
        ConversionOptions options = Bundles.options("all-gla", 1, 0, QuantizationOptions.DEFAULT, SpikeSettings.OFF, model);
        Path bundle = Bundles.convert(model, directory, "out", options);
        assertThatThrownBy(() -> Bundles.convert(model, directory, "out", options)).isInstanceOf(InvalidOptionException.class).hasMessageContaining("already exists");
        ConversionOptions forced = new ConversionOptions(LayerPlans.parse("all-swa", 4, 0, model.config()), QuantizationOptions.DEFAULT,
                SpikeSettings.OFF, false, ConversionOptions.DEFAULT_MAX_SHARD_BYTES, true);
        Bundles.convert(model, directory, "out", forced);
        try (ModelDescription loaded = CheckpointLoader.open(bundle)) {
            assertThat(loaded.config().layer(0).window()).isEqualTo(4);
        }
        assertThat(leftovers()).isEmpty();
    }

    @Test
    void aFailedConversionLeavesNothingBehind() throws IOException {
        TinyModel clean = TinyModels.llama();
        SequencedMap<String, float[]> tensors = new LinkedHashMap<>(clean.tensors());
        float[] poisoned = tensors.get(LayerTensor.MLP_UP_WEIGHT.name(1)).clone();
        poisoned[7] = Float.NaN;
        tensors.put(LayerTensor.MLP_UP_WEIGHT.name(1), poisoned);
        TinyModel model = new TinyModel("poisoned", clean.config(), tensors);
        assertInvalid(() -> Bundles.convert(model, directory, "out", Bundles.options("dense", 1, 0, QuantizationOptions.DEFAULT, SpikeSettings.OFF, model)),
                "model.layers.1.mlp.up_proj.weight[7]", "a finite weight", "NaN");
        assertThat(directory.resolve("out")).doesNotExist();
        assertThat(leftovers()).isEmpty();
    }

    private List<Path> leftovers() throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(path -> path.getFileName().toString().startsWith(".")).toList();
        }
    }

    @Test
    void largeBundlesAreSharded() throws IOException {
        TinyModel model = TinyModels.qwen3();
        ConversionOptions options = new ConversionOptions(LayerPlans.parse("alternate", 8, 0, model.config()), QuantizationOptions.DEFAULT,
                Bundles.DYNAMIC, false, 3_000, false);
        Path bundle = Bundles.convert(model, directory, "sharded", options);
        try (Stream<Path> files = Files.list(bundle)) {
            assertThat(files.map(path -> path.getFileName().toString()).filter(name -> name.startsWith("model-")).count()).isGreaterThan(2);
        }
        assertThat(bundle.resolve("model.safetensors.index.json")).exists();
        Path single = Bundles.convert(model, directory, "single", Bundles.options("alternate", 8, 0, QuantizationOptions.DEFAULT, Bundles.DYNAMIC, model));
        assertThat(Bundles.maximumDifference(Bundles.logits(single, EngineKind.JAVA, TOKENS), Bundles.logits(bundle, EngineKind.JAVA, TOKENS))).isZero();
    }

    /**
     * The graph points at the weights in the bundle's own (here sharded) safetensors, each reference exactly one stored
     * tensor of its dtype, instead of writing them a second time; ONNX Runtime reads them there, half precision included.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16", "F32"})
    void theGraphReferencesTheStoredWeightsInsteadOfCopyingThem(DType sourceType) throws IOException {
        TinyModel model = TinyModels.qwen2();
        Path source = CheckpointWriters.writeSafetensors(model, directory.resolve("source"), sourceType, 2);
        ConversionOptions options = new ConversionOptions(LayerPlans.parse("alternate", 8, 0, model.config()), QuantizationOptions.DEFAULT,
                SpikeSettings.OFF, false, 3_000, false);
        Path bundle;
        try (ModelDescription description = CheckpointLoader.open(source)) {
            bundle = BundleWriter.convert(description, source, directory.resolve("bundle"), options, ConversionProgress.NONE).output();
        }
        assertThat(bundle.resolve(DecoderGraphWriter.DATA_FILE)).doesNotExist();
        Map<String, String> stored = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(bundle)) {
            for (Path file : files.filter(path -> path.toString().endsWith(".safetensors")).sorted().toList()) {
                try (SafetensorsFile safetensors = SafetensorsFile.open(file)) {
                    for (StoredTensor tensor : safetensors.tensors().values()) {
                        stored.put(file.getFileName() + "@" + tensor.fileRegion().orElseThrow().offset() + "+" + tensor.byteSize(), onnxType(tensor.dtype()));
                    }
                }
            }
        }
        assertThat(stored.keySet().stream().map(key -> key.substring(0, key.indexOf('@'))).distinct().count()).as("shards").isGreaterThan(2);
        ModelProto proto;
        try (InputStream in = Files.newInputStream(bundle.resolve(DecoderGraphWriter.MODEL_FILE))) {
            proto = ModelProto.parseFrom(in);
        }
        Map<String, String> referenced = new LinkedHashMap<>();
        for (TensorProto tensor : proto.getGraph().getInitializerList()) {
            if (tensor.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                Map<String, String> entries = tensor.getExternalDataList().stream()
                        .collect(Collectors.toMap(StringStringEntryProto::getKey, StringStringEntryProto::getValue));
                String previous = referenced.put(entries.get("location") + "@" + entries.get("offset") + "+" + entries.get("length"),
                        TensorProto.DataType.forNumber(tensor.getDataType()).name());
                assertThat(previous).as("%s referenced twice", tensor.getName()).isNull();
            }
        }
        assertThat(referenced).isEqualTo(stored);
        assertThat(ExternalWeightCheck.problems(bundle.resolve(DecoderGraphWriter.MODEL_FILE))).isEmpty();
        assertThat(Bundles.maximumDifference(Bundles.logits(bundle, EngineKind.JAVA, TOKENS), Bundles.logits(bundle, EngineKind.ONNX, TOKENS)))
                .isLessThan(1e-4);
    }

    /**
     * Safetensors rewritten in another order hold the same tensors at other offsets: the graph's references no longer hold,
     * which the check reports and running the bundle refuses.
     */
    @Test
    void safetensorsRewrittenWithAnotherLayoutNoLongerMatchTheGraph() throws IOException {
        TinyModel model = TinyModels.qwen2();
        Path bundle = Bundles.convert(model, directory, "bundle", Bundles.options("alternate", 8, 0, QuantizationOptions.DEFAULT, SpikeSettings.OFF, model));
        Path file = bundle.resolve(BundleWriter.SAFETENSORS);
        Path rewritten = bundle.resolve("rewritten.tmp");
        try (SafetensorsFile safetensors = SafetensorsFile.open(file)) {
            List<StoredTensor> reversed = new ArrayList<>(safetensors.tensors().values());
            Collections.reverse(reversed);
            Map<String, StoredTensor> byName = new LinkedHashMap<>();
            reversed.forEach(tensor -> byName.put(tensor.name(), tensor));
            SafetensorsWriter.write(rewritten, reversed.stream().map(tensor -> new SafetensorsWriter.TensorEntry(tensor.name(), tensor.dtype(), tensor.shape())).toList(),
                    safetensors.metadata(), (entry, channel) -> SafetensorsWriter.writeFully(channel, byName.get(entry.name()).data().asByteBuffer()));
        }
        Files.move(rewritten, file, StandardCopyOption.REPLACE_EXISTING);
        assertThat(ExternalWeightCheck.problems(bundle.resolve(DecoderGraphWriter.MODEL_FILE))).isNotEmpty()
                .allSatisfy(problem -> assertThat(problem).containsAnyOf("does not match a stored tensor of model.safetensors",
                        "points past the end of model.safetensors"));
        // Running it is refused in one line instead of computing with bytes that moved.
        assertInvalid(() -> Bundles.logits(bundle, EngineKind.ONNX, TOKENS), "model.onnx: weight", "model.safetensors");
    }

    private static String onnxType(DType type) {
        return switch (type) {
            case F32 -> "FLOAT";
            case F16 -> "FLOAT16";
            case BF16 -> "BFLOAT16";
            case I8 -> "INT8";
            case F64, F8_E4M3, F8_E5M2, I64, I32, I16, U8, BOOL, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K -> "not referenced: " + type;
        };
    }

    @Test
    void w8aSpikeLayoutRoundTrips() throws IOException {
        ModelConfig config = TinyModels.llama().config().toBuilder().hiddenSize(128).intermediateSize(256).headCount(2).keyValueHeadCount(1)
                .headDimension(64).build(Path.of("wide"));
        TinyModel model = TinyModels.random("wide", config, 11);
        ConversionOptions options = new ConversionOptions(LayerPlans.parse("spikingbrain", 1, 0, config), QuantizationOptions.DEFAULT,
                Bundles.DYNAMIC, true, ConversionOptions.DEFAULT_MAX_SHARD_BYTES, false);
        Path bundle = Bundles.convert(model, directory, "w8a", options);
        Path layout = bundle.resolve(W8ASpikeLayout.FOLDER);
        assertThat(layout.resolve("config.json")).exists();
        try (ModelDescription loaded = CheckpointLoader.open(bundle); SafetensorsFile w8a = SafetensorsFile.open(layout.resolve("model.safetensors"))) {
            ScaledInt8Tensor weight = (ScaledInt8Tensor) loaded.tensor(LayerTensor.MLP_GATE_WEIGHT.name(0));
            float[] grid = w8a.tensors().get("model.layers.0.mlp.gate_proj.weight").toFloats();
            StoredTensor scales = w8a.tensors().get("model.layers.0.mlp.gate_proj.weight_quantizer.scales");
            assertThat(scales.shape().dimensions()).containsExactly(256, 1, 1);
            float[] scaleValues = scales.toFloats();
            float[] codes = weight.codes().toFloats();
            for (int i = 0; i < grid.length; i++) {
                int row = i / 128;
                // BICLab's quantizer: round(weight / scale) * scale must give back our codes
                assertThat((float) Math.rint(grid[i] / scaleValues[row])).isEqualTo(codes[i]);
            }
            assertThat(w8a.tensors()).doesNotContainKey("model.layers.0.mlp.gate_proj.weight_scale");
        }
        TinyModel narrow = TinyModels.llama();
        ConversionOptions refused = new ConversionOptions(LayerPlans.parse("dense", 1, 0, narrow.config()), QuantizationOptions.DEFAULT,
                Bundles.DYNAMIC, true, ConversionOptions.DEFAULT_MAX_SHARD_BYTES, false);
        assertThatThrownBy(() -> Bundles.convert(narrow, directory, "narrow", refused)).hasMessageContaining("divisible by 128");
    }

    @Test
    void optionsThatCannotWorkAreRefused() {
        TinyModel model = TinyModels.llama();
        SpikeSettings binary = new SpikeSettings(SpikeSettings.Mode.DYNAMIC, 3, 127, SpikeSettings.Coding.BINARY, List.of());
        assertThatThrownBy(() -> Bundles.options("dense", 1, 0, QuantizationOptions.DEFAULT, binary, model)).hasMessageContaining("binary");
        SpikeSettings unsigned = new SpikeSettings(SpikeSettings.Mode.OFF, 3, 127, SpikeSettings.Coding.BINARY, List.of());
        assertThat(Bundles.options("dense", 1, 0, QuantizationOptions.DEFAULT, unsigned, model).spike().spiking()).isFalse();
        assertThatThrownBy(() -> new SpikeSettings(SpikeSettings.Mode.DYNAMIC, 3, 128, SpikeSettings.Coding.TERNARY, List.of()))
                .hasMessageContaining("time steps");
        assertThatThrownBy(() -> new QuantizationOptions(false, 128, true, false)).isInstanceOf(InvalidOptionException.class)
                .hasMessageContaining("needs int8");
    }
}
