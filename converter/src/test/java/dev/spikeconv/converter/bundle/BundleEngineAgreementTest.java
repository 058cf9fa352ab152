package dev.spikeconv.converter.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.converter.metrics.Divergence;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.NodeProto;
import dev.spikeconv.formats.onnx.proto.OperatorSetIdProto;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bundle's ONNX graph (chunked GLA, window caches, int8 and spiking projections) against the Java
 * reference (recurrent GLA, full attention with masks), for every plan and spike mode; and cached decode
 * against one prefill. Float models are compared by maximum logit difference, spiking ones by KL and
 * top-1 agreement, since a spike count may flip at a .5 boundary between two engines (docs/design.md §4).
 */
class BundleEngineAgreementTest {
    /** Several GLA chunks of 32 and a partial one (150 = 4 × 32 + 22), so chunking and padding are exercised. */
    private static final int[] TOKENS = Bundles.tokens(150, 40, 3);

    @TempDir
    Path directory;

    static Stream<Arguments> plansAndModes() {
        List<Arguments> cases = new ArrayList<>();
        String[] plans = {"dense", "all-gla", "all-swa", "alternate", "0:swa/5+2,1:gla", "0:swa/7+0,1:gla"};
        for (String plan : plans) {
            for (boolean spiking : new boolean[] {false, true}) {
                cases.add(Arguments.of(plan, spiking));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, spiking {1}")
    @MethodSource("plansAndModes")
    void onnxRuntimeAgreesWithTheReference(String plan, boolean spiking) throws IOException {
        TinyModel model = TinyModels.qwen2();
        SpikeSettings spike = spiking ? Bundles.DYNAMIC : SpikeSettings.OFF;
        QuantizationOptions quantization = new QuantizationOptions(true, 8, false, false);
        Path bundle = Bundles.convert(model, directory, "bundle", Bundles.options(plan, 12, 1, quantization, spike, model));
        float[][] onnx = Bundles.logits(bundle, EngineKind.ONNX, TOKENS);
        float[][] java = Bundles.logits(bundle, EngineKind.JAVA, TOKENS);
        float[][] stepwise = Bundles.stepwiseLogits(bundle, EngineKind.ONNX, TOKENS, 7);
        if (spiking) {
            Bundles.assertEnginesAgree(bundle, TOKENS);
            assertThat(Divergence.meanKullbackLeibler(onnx, stepwise)).as("KL prefill vs decode").isLessThan(1e-3);
        }
        else {
            assertThat(Bundles.maximumDifference(java, onnx)).as("java vs onnx").isLessThan(1e-4);
            assertThat(Bundles.maximumDifference(onnx, stepwise)).as("prefill vs decode").isLessThan(1e-4);
        }
    }

    /**
     * The bundle's int8 weights are DequantizeLinear nodes; a session folds them into float constants within its limit and
     * keeps them int8 past it, dequantizing on every run (spiking projections with one scale per weight row dequantize
     * their codes alone, for the exact integer product). Groups of 12 leave a shorter last group on the rows of 16. Both
     * sessions answer as the reference does, the same up to float rounding, and the graph has no integer GEMM.
     */
    @ParameterizedTest(name = "spiking {0}, group {1}")
    @CsvSource({"false, 8", "true, 8", "true, 12", "true, 0"})
    void int8WeightsKeptInMemoryAgreeToo(boolean spiking, int group) throws IOException {
        TinyModel model = TinyModels.qwen2();
        SpikeSettings spike = spiking ? Bundles.DYNAMIC : SpikeSettings.OFF;
        Path bundle = Bundles.convert(model, directory, "bundle", Bundles.options("alternate", 12, 1, new QuantizationOptions(true, group, false, false), spike, model));
        Path graph = bundle.resolve(DecoderGraphWriter.MODEL_FILE);
        String operators = new String(Files.readAllBytes(graph), StandardCharsets.ISO_8859_1);
        assertThat(operators).contains("DequantizeLinear").doesNotContain("MatMulInteger");
        float[][] java = Bundles.logits(bundle, EngineKind.JAVA, TOKENS);
        float[][] folded;
        float[][] lean;
        try (ModelDescription description = CheckpointLoader.open(bundle)) {
            try (OnnxRuntimeEngine engine = OnnxRuntimeEngine.open(graph, description.config(), OnnxRuntimeOptions.DEFAULT);
                    InferenceSession session = engine.newSession()) {
                folded = session.forward(TOKENS);
            }
            try (OnnxRuntimeEngine engine = OnnxRuntimeEngine.open(graph, description.config(), OnnxRuntimeOptions.DEFAULT.keepingInt8());
                    InferenceSession session = engine.newSession()) {
                lean = session.forward(TOKENS);
            }
        }
        if (spiking) {
            for (float[][] onnx : List.of(folded, lean)) {
                assertThat(Divergence.meanKullbackLeibler(java, onnx)).isLessThan(1e-3);
                assertThat(Divergence.topOneAgreement(java, onnx)).isGreaterThanOrEqualTo(0.97);
            }
        }
        else {
            assertThat(Bundles.maximumDifference(java, folded)).isLessThan(1e-4);
            assertThat(Bundles.maximumDifference(java, lean)).isLessThan(1e-4);
        }
    }

    /**
     * Gates from forgetful to forgetting almost everything, set through the gate bias (the gate's up weight is zero, so
     * the log-decay per token is {@code logsigmoid(bias) / 16}). Within a chunk of 32 tokens the cumulative log-decay
     * reaches 32 times that: -37 for bias -18.5, just inside the bound of the factored intra-chunk form, whose inverse
     * decays then reach e^37; -43 for bias -21.5, just past it, and -2000 for bias -1000, where the pairwise form runs
     * and the discarded future half of its decays overflows to infinity, which must not leak into the output. Both
     * engines stay finite and agree, in prefill and in decode. The bias is rewritten in place in the safetensors, which
     * the graph reads directly.
     */
    @ParameterizedTest(name = "gate bias {0}")
    @ValueSource(floats = {-18.5f, -21.5f, -1000f})
    void strongGatesStayFiniteAndAgree(float gateBias) throws IOException {
        TinyModel model = TinyModels.qwen2();
        Path bundle = Bundles.convert(model, directory, "bundle", Bundles.options("all-gla", 12, 1, QuantizationOptions.NONE, SpikeSettings.OFF, model));
        Path file = bundle.resolve(BundleWriter.SAFETENSORS);
        List<long[]> biases = new ArrayList<>();
        try (SafetensorsFile safetensors = SafetensorsFile.open(file)) {
            safetensors.tensors().values().stream().filter(tensor -> tensor.name().endsWith("gk_proj.1.bias"))
                    .forEach(tensor -> biases.add(new long[] {tensor.fileRegion().orElseThrow().offset(), tensor.shape().elementCount()}));
        }
        assertThat(biases).hasSize(model.config().layerCount());
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            for (long[] bias : biases) {
                ByteBuffer bytes = ByteBuffer.allocate((int) bias[1] * 4).order(ByteOrder.LITTLE_ENDIAN);
                while (bytes.hasRemaining()) {
                    bytes.putFloat(gateBias);
                }
                channel.write(bytes.flip(), bias[0]);
            }
        }
        float[][] onnx = Bundles.logits(bundle, EngineKind.ONNX, TOKENS);
        float[][] java = Bundles.logits(bundle, EngineKind.JAVA, TOKENS);
        for (float[] row : onnx) {
            for (float logit : row) {
                assertThat(Float.isFinite(logit)).isTrue();
            }
        }
        assertThat(Bundles.maximumDifference(java, onnx)).isLessThan(1e-4);
        assertThat(Bundles.maximumDifference(onnx, Bundles.stepwiseLogits(bundle, EngineKind.ONNX, TOKENS, 7))).isLessThan(1e-4);
    }

    /**
     * Softmax and sliding-window layers run as ONNX's fused Attention operator (opset 23), one node per layer with no
     * separate score matrix, mask addition or softmax.
     */
    @Test
    void everyAttentionLayerIsOneAttentionOperator() throws IOException {
        TinyModel model = TinyModels.qwen2();
        Path bundle = Bundles.convert(model, directory, "bundle", Bundles.options("0:swa/5+2,1:gla", 12, 1, QuantizationOptions.DEFAULT, Bundles.DYNAMIC, model));
        ModelProto graph;
        try (InputStream in = Files.newInputStream(bundle.resolve(DecoderGraphWriter.MODEL_FILE))) {
            graph = ModelProto.parseFrom(in);
        }
        try (ModelDescription description = CheckpointLoader.open(bundle)) {
            long attentionLayers = description.config().layers().stream().filter(layer -> layer.kind() != AttentionKind.GATED_LINEAR).count();
            assertThat(attentionLayers).isPositive();
            assertThat(graph.getGraph().getNodeList().stream().filter(node -> node.getOpType().equals("Attention")).count()).isEqualTo(attentionLayers);
        }
        assertThat(graph.getGraph().getNodeList()).extracting(NodeProto::getOpType).doesNotContain("Softmax");
        assertThat(graph.getOpsetImportList()).extracting(OperatorSetIdProto::getVersion).containsExactly(23L);
    }

    /** Calibration traces one site per shared-input group: the group's sites must read the very same activations. */
    @Test
    void sitesOfASharedInputGroupReadTheSameActivations() throws IOException {
        TinyModel model = TinyModels.qwen3();
        Path bundle = Bundles.convert(model, directory, "bundle", Bundles.options("alternate", 12, 1, QuantizationOptions.DEFAULT, Bundles.DYNAMIC, model));
        try (ModelDescription description = CheckpointLoader.open(bundle)) {
            List<List<String>> groups = SpikeSites.sharedInputGroups(description.config());
            assertThat(groups.stream().flatMap(List::stream).toList()).isEqualTo(SpikeSites.spikingSites(description.config()));
            assertThat(groups).anyMatch(group -> group.size() == 3).anyMatch(group -> group.size() == 2);
            List<String> traced = SpikeSites.spikingSites(description.config()).stream().map(DecoderGraphWriter::projectionInput).toList();
            try (OnnxRuntimeEngine engine = OnnxRuntimeEngine.open(bundle.resolve(DecoderGraphWriter.MODEL_FILE), description.config(), OnnxRuntimeOptions.DEFAULT,
                    traced); OnnxRuntimeEngine.RuntimeSession session = engine.newSession()) {
                Map<String, float[][]> values = session.forwardTraced(TOKENS, traced).values();
                for (List<String> group : groups) {
                    float[][] first = values.get(DecoderGraphWriter.projectionInput(group.getFirst()));
                    for (String site : group) {
                        assertThat(values.get(DecoderGraphWriter.projectionInput(site))).as(site).isDeepEqualTo(first);
                    }
                }
            }
        }
    }

    /** Tracing without the logits (what calibration asks for) gives the values a full traced run gives, call after call. */
    @Test
    void tracingWithoutLogitsGivesTheSameValues() throws IOException {
        TinyModel model = TinyModels.qwen2();
        Path bundle = Bundles.convert(model, directory, "bundle", Bundles.options("alternate", 12, 1, QuantizationOptions.DEFAULT, Bundles.DYNAMIC, model));
        try (ModelDescription description = CheckpointLoader.open(bundle)) {
            List<String> traced = SpikeSites.spikingSites(description.config()).stream().map(DecoderGraphWriter::projectionInput).toList();
            int[] first = Arrays.copyOfRange(TOKENS, 0, 70);
            int[] second = Arrays.copyOfRange(TOKENS, 70, TOKENS.length);
            try (OnnxRuntimeEngine engine = OnnxRuntimeEngine.open(bundle.resolve(DecoderGraphWriter.MODEL_FILE), description.config(), OnnxRuntimeOptions.DEFAULT,
                    traced); OnnxRuntimeEngine.RuntimeSession full = engine.newSession(); OnnxRuntimeEngine.RuntimeSession lean = engine.newSession()) {
                for (int[] tokens : List.of(first, second)) {
                    Map<String, float[][]> expected = full.forwardTraced(tokens, traced).values();
                    Map<String, float[][]> values = lean.trace(tokens, traced);
                    assertThat(values.keySet()).containsExactlyElementsOf(traced);
                    for (String name : traced) {
                        assertThat(values.get(name)).as(name).isDeepEqualTo(expected.get(name));
                    }
                }
                assertThat(lean.position()).isEqualTo(TOKENS.length);
            }
        }
    }

    @Test
    void perRowInt8WeightsAndFloatSpikingWeightsAgreeToo() throws IOException {
        TinyModel model = TinyModels.llama();
        for (QuantizationOptions quantization : new QuantizationOptions[] {new QuantizationOptions(true, 0, true, true), QuantizationOptions.NONE}) {
            Path bundle = Bundles.convert(model, directory, "bundle-" + quantization.enabled(),
                    Bundles.options("alternate", 9, 0, quantization, Bundles.DYNAMIC, model));
            Bundles.assertEnginesAgree(bundle, TOKENS);
        }
    }

    @Test
    void aWindowCoveringTheSequenceIsSoftmaxAttention() throws IOException {
        TinyModel model = TinyModels.llama();
        QuantizationOptions none = QuantizationOptions.NONE;
        Path dense = Bundles.convert(model, directory, "dense", Bundles.options("dense", 1, 0, none, SpikeSettings.OFF, model));
        Path window = Bundles.convert(model, directory, "window", Bundles.options("all-swa", TOKENS.length, 0, none, SpikeSettings.OFF, model));
        Path shortWindow = Bundles.convert(model, directory, "short", Bundles.options("all-swa", 6, 0, none, SpikeSettings.OFF, model));
        for (EngineKind kind : EngineKind.values()) {
            float[][] reference = Bundles.logits(dense, kind, TOKENS);
            assertThat(Bundles.maximumDifference(reference, Bundles.logits(window, kind, TOKENS))).as(kind.name()).isLessThan(1e-5);
            assertThat(Bundles.maximumDifference(reference, Bundles.logits(shortWindow, kind, TOKENS))).as(kind.name()).isGreaterThan(1e-3);
        }
    }

    enum Thresholds {
        STATIC_PER_SITE,
        STATIC_PER_CHANNEL,
        DYNAMIC_PER_SITE
    }

    /** Calibrated thresholds, as calibrate stores them, run the same in both engines and in prefill and decode. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(Thresholds.class)
    void calibratedThresholdsAgreeAcrossEngines(Thresholds thresholds) throws IOException {
        TinyModel model = TinyModels.qwen2();
        Path bundle = Bundles.convert(model, directory, "bundle", Bundles.options("alternate", 12, 1, new QuantizationOptions(true, 8, false, false),
                Bundles.DYNAMIC, model));
        Map<String, TensorView> added = new LinkedHashMap<>();
        List<String> sites = SpikeSites.spikingSites(model.config().toBuilder().spike(Bundles.DYNAMIC).build(null));
        for (int index = 0; index < sites.size(); index++) {
            String site = sites.get(index);
            int inputs = (int) model.shape(site + ".weight").columns();
            switch (thresholds) {
                case STATIC_PER_SITE -> {
                    SiteThreshold.Static fixed = SiteThreshold.Static.nearest(0.05 + 0.02 * (index % 5), 16);
                    added.put(site + SpikeSites.THRESHOLD_INTEGER_SUFFIX, StoredTensor.ofInts("integers", Shape.of(1), fixed.integers()));
                    added.put(site + SpikeSites.THRESHOLD_EXPONENT_SUFFIX, StoredTensor.ofInts("exponent", Shape.of(), new int[] {fixed.exponent()}));
                }
                case STATIC_PER_CHANNEL -> {
                    double[] values = new double[inputs];
                    for (int channel = 0; channel < inputs; channel++) {
                        values[channel] = 0.04 + 0.003 * ((channel * 7 + index) % 11);
                    }
                    SiteThreshold.Static fixed = SiteThreshold.Static.nearest(values, 12);
                    added.put(site + SpikeSites.THRESHOLD_INTEGER_SUFFIX, StoredTensor.ofInts("integers", Shape.of(inputs), fixed.integers()));
                    added.put(site + SpikeSites.THRESHOLD_EXPONENT_SUFFIX, StoredTensor.ofInts("exponent", Shape.of(), new int[] {fixed.exponent()}));
                }
                case DYNAMIC_PER_SITE -> added.put(site + SpikeSites.K_SUFFIX, StoredTensor.ofFloats("k", Shape.of(1), new float[] {2 + 0.5f * (index % 4)}));
            }
        }
        String mode = thresholds == Thresholds.DYNAMIC_PER_SITE ? "dynamic" : "static";
        try (BundleTransaction transaction = BundleTransaction.begin(bundle, note -> { })) {
            added.forEach(transaction::put);
            transaction.editConfig(config -> {
                ((ObjectNode) config.path("spikeconv").path("spike")).put("mode", mode);
                return config;
            });
            transaction.commit(ConversionProgress.NONE);
        }

        float[][] onnx = Bundles.logits(bundle, EngineKind.ONNX, TOKENS);
        float[][] java = Bundles.logits(bundle, EngineKind.JAVA, TOKENS);
        float[][] stepwise = Bundles.stepwiseLogits(bundle, EngineKind.ONNX, TOKENS, 7);
        float[][] dynamic = Bundles.logits(Bundles.convert(model, directory, "plain", Bundles.options("alternate", 12, 1,
                new QuantizationOptions(true, 8, false, false), Bundles.DYNAMIC, model)), EngineKind.JAVA, TOKENS);
        Bundles.assertEnginesAgree(bundle, TOKENS);
        assertThat(Divergence.meanKullbackLeibler(onnx, stepwise)).as("KL prefill vs decode").isLessThan(1e-3);
        // The thresholds are in effect: the model is not the uncalibrated one.
        assertThat(Bundles.maximumDifference(java, dynamic)).isGreaterThan(1e-3);
    }

    @Test
    void aStaticBundleWithoutThresholdTensorsIsRefusedAndTheBundleKept() throws IOException {
        TinyModel model = TinyModels.llama();
        Path bundle = Bundles.convert(model, directory, "bundle", Bundles.options("dense", 1, 0, QuantizationOptions.DEFAULT, Bundles.DYNAMIC, model));
        byte[] config = java.nio.file.Files.readAllBytes(bundle.resolve("config.json"));
        assertThatThrownBy(() -> {
            try (BundleTransaction transaction = BundleTransaction.begin(bundle, note -> { })) {
                transaction.editConfig(edited -> {
                    ((ObjectNode) edited.path("spikeconv").path("spike")).put("mode", "static");
                    return edited;
                });
                transaction.commit(ConversionProgress.NONE);
            }
        }).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(bundle + "/config.json: spike mode is static but model.layers.0.self_attn.q_proj has no spike_threshold_int tensor");
        assertThat(java.nio.file.Files.readAllBytes(bundle.resolve("config.json"))).isEqualTo(config);
        try (var entries = java.nio.file.Files.list(directory)) {
            assertThat(entries.map(path -> path.getFileName().toString())).allMatch(name -> !name.startsWith("."));
        }
    }
}
