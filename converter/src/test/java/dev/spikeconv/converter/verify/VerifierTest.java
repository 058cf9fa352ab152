package dev.spikeconv.converter.verify;

import static dev.spikeconv.formats.testing.InputErrors.assertInvalid;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.converter.bundle.BundleWriter;
import dev.spikeconv.converter.bundle.ConversionOptions;
import dev.spikeconv.converter.bundle.ConversionProgress;
import dev.spikeconv.converter.bundle.QuantizationOptions;
import dev.spikeconv.converter.calibration.CalibrationOptions;
import dev.spikeconv.converter.calibration.CalibrationProgress;
import dev.spikeconv.converter.calibration.Calibrator;
import dev.spikeconv.converter.calibration.ThresholdMethod;
import dev.spikeconv.converter.execution.TokenData;
import dev.spikeconv.converter.hardware.ManifestOptions;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.converter.transfer.TransferOptions;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.onnx.proto.GraphProto;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.NodeProto;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VerifierTest {
    private static final SpikeSettings DYNAMIC = new SpikeSettings(SpikeSettings.Mode.DYNAMIC, 3, 127, SpikeSettings.Coding.TERNARY, List.of());

    @TempDir
    Path directory;

    private static Path source() {
        return TestModels.stories260K();
    }

    private static Path text() {
        return TestModels.tinyStories();
    }

    private Path convert(String name, String plan, QuantizationOptions quantization, SpikeSettings spike) throws IOException {
        try (ModelDescription model = CheckpointLoader.open(source())) {
            ConversionOptions options = new ConversionOptions(LayerPlans.parse(plan, 64, 0, model.config()), quantization, spike, false,
                    ConversionOptions.DEFAULT_MAX_SHARD_BYTES, false, List.of(TargetProfiles.shipped("cpu-x86-avx2")), ManifestOptions.DEFAULT);
            return BundleWriter.convert(model, source(), directory.resolve(name), options, ConversionProgress.NONE).output();
        }
    }

    private VerifyOptions options(Path bundle, Goals goals) {
        return new VerifyOptions(bundle, source(), null, text(), null, 0, 192, 96, 32, goals, OnnxRuntimeOptions.DEFAULT, null, false, VerifyBaseline.WITHOUT_GLA_ATTENTION, ProbeOptions.NONE, false);
    }

    @Test
    void aLosslessBundlePassesTightGoals() throws IOException {
        Path bundle = convert("lossless", "dense", QuantizationOptions.NONE, SpikeSettings.OFF);
        Goals tight = new Goals(1e-6, 1e-5, 1.0, 1.0001, 0, 1e-4, 1, 0, 1e-4, true, 1.0001);
        VerifyReport report = Verifier.run(options(bundle, tight), stage -> { });
        assertThat(report.goals()).allMatch(GoalResult::passed);
        assertThat(report.engines().counts()).isEmpty();
        assertThat(report.goals()).extracting(GoalResult::name).doesNotContain("min_engine_count_agreement", "max_engine_kl");
        assertThat(report.layers()).allMatch(layer -> layer.cosine() > 0.999999);
        assertThat(report.baseline()).isNull();
        assertThat(report.spikes()).isEmpty();
        assertThat(report.tokens()).isEqualTo(192);
    }

    @Test
    void spikingHybridReportsSpikesBaselineAndWindow() throws IOException {
        Path bundle = convert("hybrid", "alternate", QuantizationOptions.DEFAULT, DYNAMIC);
        VerifyReport report = Verifier.run(options(bundle, Goals.DEFAULT), stage -> { });
        assertThat(report.engines().counts()).hasSize(5 * 7);
        assertThat(report.engines().identicalCountShare()).isGreaterThanOrEqualTo(Goals.DEFAULT.minEngineCountAgreement());
        assertThat(report.goals()).filteredOn(goal -> goal.name().startsWith("m") && goal.name().contains("engine")).hasSize(3).allMatch(GoalResult::passed);
        assertThat(report.baseline()).isNotNull();
        // uncalibrated GLA layers make things worse than leaving them out: the gate must say so
        assertThat(report.baseline().glaBetter()).isFalse();
        assertThat(report.goals()).filteredOn(goal -> goal.name().equals("linear_branch_useful")).singleElement().matches(goal -> !goal.passed());
        assertThat(report.beyondWindow()).isNotNull();
        assertThat(report.beyondWindow().window()).isEqualTo(64);
        assertThat(report.spikes()).hasSize(5 * 7);
        assertThat(report.totalSparsity()).isBetween(0.9, 1.0);
        assertThat(report.spikes().getFirst().meanCount()).isBetween(1.0, 6.0);
    }

    /**
     * The engine goals fail a bundle whose graph computes something other than the model: rounding counts down instead
     * of to the nearest (flips far from an edge), or another MLP activation (logits apart on the same counts).
     */
    @ParameterizedTest(name = "{0} instead of {1}")
    @CsvSource({"Floor, Round, max_engine_flip_distance", "Tanh, Sigmoid, max_engine_diff"})
    void aGraphThatComputesSomethingElseFailsTheEngineGoals(String replacement, String original, String failedGoal) throws IOException {
        Path bundle = convert("tampered", "alternate", QuantizationOptions.DEFAULT, DYNAMIC);
        Path graph = bundle.resolve(DecoderGraphWriter.MODEL_FILE);
        ModelProto model;
        try (InputStream in = Files.newInputStream(graph)) {
            model = ModelProto.parseFrom(in);
        }
        GraphProto.Builder nodes = model.getGraph().toBuilder();
        int replaced = 0;
        for (NodeProto.Builder node : nodes.getNodeBuilderList()) {
            if (node.getOpType().equals(original)) {
                node.setOpType(replacement);
                replaced++;
            }
        }
        assertThat(replaced).isPositive();
        Files.write(graph, model.toBuilder().setGraph(nodes).build().toByteArray());
        VerifyReport report = Verifier.run(options(bundle, Goals.DEFAULT), stage -> { });
        assertThat(report.goals()).filteredOn(goal -> goal.name().equals(failedGoal)).singleElement().matches(goal -> !goal.passed(), "failed");
    }

    /**
     * The all-SWA baseline of a hybrid is the hybrid with the dense attention over its smallest window in place of its GLA
     * layers: for a bundle that neither quantizes nor spikes, exactly the all-SWA bundle of that window.
     */
    @Test
    void theAllSwaBaselineIsTheAllSwaBundle() throws IOException {
        Path hybrid = convert("hybrid", "alternate", QuantizationOptions.NONE, SpikeSettings.OFF);
        Path window = convert("window", "all-swa", QuantizationOptions.NONE, SpikeSettings.OFF);
        VerifyOptions options = new VerifyOptions(hybrid, source(), null, text(), null, 0, 192, 96, 32, Goals.DEFAULT, OnnxRuntimeOptions.DEFAULT, null, false,
                VerifyBaseline.ALL_SWA, ProbeOptions.NONE, false);
        VerifyReport report = Verifier.run(options, stage -> { });
        VerifyReport windowReport = Verifier.run(options(window, Goals.DEFAULT), stage -> { });
        assertThat(report.baseline().kind()).isEqualTo(VerifyBaseline.ALL_SWA);
        assertThat(report.baseline().model()).contains("swa/64");
        assertThat(report.baseline().meanKl()).isEqualTo(windowReport.distance().meanKl());
        assertThat(report.baseline().onlyBeyondHorizon()).isEqualTo(windowReport.longRange().onlyBeyondHorizon());
        assertThat(report.goals()).extracting(GoalResult::name).contains("gla_beyond_window").doesNotContain("linear_branch_useful");
        assertThatThrownBy(() -> new VerifyOptions(hybrid, null, directory.resolve("saved"), text(), null, 0, 192, 96, 32, Goals.DEFAULT,
                OnnxRuntimeOptions.DEFAULT, null, false, VerifyBaseline.ALL_SWA, ProbeOptions.NONE, false)).hasMessageContaining("all-swa runs the dense model's attention");
    }

    /**
     * A graph that is not an ONNX model, or one ONNX Runtime refuses, fails the structure goal with one line naming it; the
     * engines are compared on the graph spikeconv would write, so the rest of the report still holds.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"truncated, is not an ONNX model", "unknown operator, ONNX Runtime cannot load"})
    void anUnloadableGraphFailsTheStructureGoalAndTheCheckGoesOn(String damage, String reason) throws IOException {
        Path bundle = convert("damaged", "dense", QuantizationOptions.DEFAULT, DYNAMIC);
        Path graph = bundle.resolve(DecoderGraphWriter.MODEL_FILE);
        byte[] bytes = Files.readAllBytes(graph);
        if (damage.equals("truncated")) {
            Files.write(graph, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        }
        else {
            ModelProto model = ModelProto.parseFrom(bytes);
            GraphProto.Builder nodes = model.getGraph().toBuilder();
            nodes.getNodeBuilder(nodes.getNodeCount() / 2).setOpType("NoSuchOperator");
            Files.write(graph, model.toBuilder().setGraph(nodes).build().toByteArray());
        }
        VerifyReport report = Verifier.run(options(bundle, Goals.DEFAULT), stage -> { });
        assertThat(report.structureProblems()).anySatisfy(line -> assertThat(line).startsWith("model.onnx " + reason).doesNotContain("\n"));
        assertThat(report.goals()).filteredOn(goal -> goal.name().equals("structure")).singleElement().matches(goal -> !goal.passed(), "failed")
                .extracting(GoalResult::nextStep).asString().startsWith("convert the checkpoint again");
        assertThat(report.goals()).filteredOn(goal -> goal.name().contains("engine")).isNotEmpty().allMatch(GoalResult::passed);
        assertThat(report.tokens()).isEqualTo(192);
    }

    @Test
    void aSavedReferenceGivesTheSameReport() throws IOException {
        Path bundle = convert("dense", "dense", QuantizationOptions.DEFAULT, DYNAMIC);
        Path recording = directory.resolve("reference.safetensors");
        VerifyOptions first = new VerifyOptions(bundle, source(), null, text(), null, 0, 128, 128, 16, Goals.DEFAULT, OnnxRuntimeOptions.DEFAULT, recording, false, VerifyBaseline.WITHOUT_GLA_ATTENTION, ProbeOptions.NONE, false);
        VerifyReport live = Verifier.run(first, stage -> { });
        VerifyOptions replay = new VerifyOptions(bundle, null, recording, text(), null, 0, 128, 128, 16, Goals.DEFAULT, OnnxRuntimeOptions.DEFAULT, null, false, VerifyBaseline.WITHOUT_GLA_ATTENTION, ProbeOptions.NONE, false);
        VerifyReport saved = Verifier.run(replay, stage -> { });
        assertThat(saved.distance().meanKl()).isEqualTo(live.distance().meanKl());
        assertThat(saved.layers().get(2).cosine()).isEqualTo(live.layers().get(2).cosine());
        VerifyOptions otherData = new VerifyOptions(bundle, null, recording, text(), null, 0, 100, 128, 16, Goals.DEFAULT, OnnxRuntimeOptions.DEFAULT, null, false, VerifyBaseline.WITHOUT_GLA_ATTENTION, ProbeOptions.NONE, false);
        assertInvalid(() -> Verifier.run(otherData, stage -> { }), "recorded on other tokens");
    }

    @Test
    void tokenIdFilesAreUsedAsGiven() throws IOException {
        Path ids = Files.writeString(directory.resolve("ids.txt"), "1, 403, 407 261\n378 432 383 286 261 376");
        assertThat(TokenData.isTokenIdFile(ids)).isTrue();
        assertThat(TokenData.tokens(ids, 5, null, 512)).containsExactly(1, 403, 407, 261, 378);
        Path bad = Files.writeString(directory.resolve("bad.txt"), "1 2 999");
        assertInvalid(() -> TokenData.tokens(bad, 5, null, 512), "token 999", "below the vocabulary size 512");
    }

    @Test
    void goalsFiles() throws IOException {
        Path file = Files.writeString(directory.resolve("goals.json"), "{\"max_kl\": 0.1, \"min_top1\": 0.9}");
        Goals goals = Goals.read(file, Goals.DEFAULT);
        assertThat(goals.maxKl()).isEqualTo(0.1);
        assertThat(goals.minTopOne()).isEqualTo(0.9);
        assertThat(goals.maxPerplexityRatio()).isEqualTo(Goals.DEFAULT.maxPerplexityRatio());
        Files.writeString(file, "{\"max_kll\": 0.1}");
        assertInvalid(() -> Goals.read(file, Goals.DEFAULT), "max_kll", "an unknown goal");
        Files.writeString(file, "{\"min_top1\": 1.5}");
        assertInvalid(() -> Goals.read(file, Goals.DEFAULT), "min_top1", "a fraction in [0, 1]");
        assertThat(Verifier.percentile(new double[] {1, 2, 3, 4}, 0.5)).isEqualTo(2);
        assertThat(Verifier.percentile(new double[] {1, 2, 3, 4}, 0.99)).isEqualTo(4);
    }

    @Test
    void probesRunTheDenseModelFirstAndSkipWhatItFails() throws IOException {
        Path bundle = convert("probes", "alternate", QuantizationOptions.DEFAULT, DYNAMIC);
        ProbeOptions probes = new ProbeOptions(Set.of(ProbeKind.PASSKEY, ProbeKind.KEY_VALUE_RECALL), List.of(16, 64), 2);
        VerifyReport report = Verifier.run(new VerifyOptions(bundle, source(), null, text(), null, 0, 192, 96, 32, Goals.DEFAULT, OnnxRuntimeOptions.DEFAULT,
                null, false, VerifyBaseline.WITHOUT_GLA_ATTENTION, probes, false), stage -> { });
        // stories260K copies almost none of a random sequence it has seen: every probe is skipped, and each kind says why.
        assertThat(report.probes().results()).hasSize(4).allMatch(VerifyReport.ProbeResult::skipped);
        assertThat(report.probes().results()).allMatch(result -> result.referenceAccuracy() < RetrievalProbeRun.PASSING_ACCURACY && result.answers() == 8);
        assertThat(report.probes().notes()).hasSize(2).allMatch(note -> note.contains("skipped: the dense model fails it at every distance"));
        assertThat(VerifyReportText.render(report)).contains("passkey    at     16 tokens  dense").contains("skipped, the dense model fails it");
        assertThat(VerifyReportJson.toJson(report).at("/probes/results/3")).hasToString(String.format(java.util.Locale.ROOT,
                "{\"kind\":\"kv-recall\",\"distance\":64,\"answers\":8,\"accuracy_reference\":%s,\"accuracy_bundle\":null,\"accuracy_baseline\":null,"
                        + "\"skipped\":true}", report.probes().results().get(3).referenceAccuracy()));
        assertThat(VerifyHtmlReport.render(report)).contains("<table id=\"probes\">");
        assertThat(Verifier.run(options(bundle, Goals.DEFAULT), stage -> { }).probes()).isNull();
        assertThatThrownBy(() -> new VerifyOptions(bundle, null, directory.resolve("saved"), text(), null, 0, 192, 96, 32, Goals.DEFAULT,
                OnnxRuntimeOptions.DEFAULT, null, false, VerifyBaseline.WITHOUT_GLA_ATTENTION, probes, false)).hasMessageContaining("the probes run the dense model first");
    }

    @Test
    void probesReadTheReferenceEnginesLogitsAtTheirPositions() throws IOException {
        try (ModelDescription model = CheckpointLoader.open(source())) {
            ReferenceModel reference = ReferenceModel.load(model);
            int[] tokens = TokenData.forModel(text(), null, source(), model.config().vocabularySize(), 0, 40, "the test");
            float[] stream = reference.embed(tokens);
            for (int layer = 0; layer < model.config().layerCount(); layer++) {
                reference.runLayer(layer, stream, tokens.length);
            }
            float[] all = reference.logits(stream, tokens.length);
            int vocabulary = model.config().vocabularySize();
            int[] positions = {39, 3, 17};
            float[] some = RetrievalProbeRun.of(reference).logitsAt(tokens, positions);
            for (int i = 0; i < positions.length; i++) {
                assertThat(java.util.Arrays.copyOfRange(some, i * vocabulary, (i + 1) * vocabulary))
                        .containsExactly(java.util.Arrays.copyOfRange(all, positions[i] * vocabulary, (positions[i] + 1) * vocabulary));
            }
        }
    }

    @Test
    void eachLayersKlAloneIsZeroWhereTheBundleKeepsTheDenseLayer() throws IOException {
        // Layer 2 a window of 8 tokens, the rest softmax with the source's float weights: only layer 2 moves the distribution.
        Path bundle = convert("one-window", "0-1:softmax,2:swa/8,3-4:softmax", QuantizationOptions.NONE, SpikeSettings.OFF);
        VerifyReport report = Verifier.run(new VerifyOptions(bundle, source(), null, text(), null, 0, 192, 96, 32, Goals.DEFAULT, OnnxRuntimeOptions.DEFAULT,
                null, false, VerifyBaseline.WITHOUT_GLA_ATTENTION, ProbeOptions.NONE, true), stage -> { });
        assertThat(report.layers()).extracting(VerifyReport.LayerReport::klAlone).containsExactly(0.0, 0.0, report.layers().get(2).klAlone(), 0.0, 0.0);
        assertThat(report.layers().get(2).klAlone()).isPositive();
        // One layer differs, so converting it alone is converting everything.
        assertThat(report.layers().get(2).klAlone()).isCloseTo(report.distance().meanKl(), within(1e-9));
        assertThat(report.quantizationErrors()).isEmpty();
        assertThat(report.calibration()).isNull();
        assertThat(VerifyReportText.render(report)).contains("KL alone");
        assertThat(Verifier.run(options(bundle, Goals.DEFAULT), stage -> { }).layers()).allMatch(layer -> layer.klAlone() == null);
    }

    @Test
    void theReportCarriesWhatConvertAndCalibrateRecorded() throws IOException {
        Path bundle = convert("recorded", "alternate", QuantizationOptions.DEFAULT, DYNAMIC);
        Calibrator.run(new CalibrationOptions(bundle, text(), null, 512, 256, 0, ThresholdMethod.parse("mse"), null, null, null, source(),
                TransferOptions.DEFAULT, null, 4, List.of(), null, false, false), CalibrationProgress.NONE);
        VerifyReport report = Verifier.run(options(bundle, Goals.DEFAULT), stage -> { });
        JsonNode config = JsonDocuments.read(bundle.resolve("config.json"), 1 << 20);
        assertThat(report.quantizationErrors()).hasSize(35);
        report.quantizationErrors().forEach((name, error) -> assertThat(config.at("/spikeconv/quantization/relative_errors").path(name).asDouble())
                .isEqualTo(error));
        JsonNode calibration = JsonDocuments.read(bundle.resolve("calibration.json"), 1 << 24);
        assertThat(report.calibration().method()).isEqualTo("mse");
        assertThat(report.calibration().tokens()).isEqualTo(512);
        assertThat(report.calibration().transfer()).extracting(VerifyReport.TransferFit::layer).containsExactly(0, 2, 4);
        assertThat(report.calibration().transfer().getFirst().after()).isEqualTo(calibration.at("/attention_transfer/0/output_error/after_readout").asDouble())
                .isLessThan(report.calibration().transfer().getFirst().before());
        assertThat(VerifyReportJson.toJson(report).at("/calibration/attention_transfer/0/error_before").asDouble())
                .isEqualTo(report.calibration().transfer().getFirst().before());
        String html = VerifyHtmlReport.render(report);
        assertThat(html).contains("<table id=\"quantization-errors\">").contains("<h2>Calibration</h2>");
    }
}
