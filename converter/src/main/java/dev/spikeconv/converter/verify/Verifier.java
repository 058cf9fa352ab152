package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.MemoryBudget;
import dev.spikeconv.converter.bundle.ReferenceCheck;
import dev.spikeconv.converter.calibration.Calibrator;
import dev.spikeconv.converter.execution.TokenData;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.onnx.UnloadableGraphException;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.converter.spiking.SpikeStatistics;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Runs a bundle and its dense reference on the same tokens (docs/design.md §7) and measures: the bundle's structure, ONNX
 * Runtime against the Java reference on the bundle's own graph, the distance of the next-token distributions, per-layer
 * hidden-state cosine and attention shares, a baseline without the GLA layers' attention, perplexity past the sliding
 * window, and spike activity; when asked, each layer's KL alone and synthetic retrieval probes; then checks the goals.
 * The models advance layer by layer in the Java reference engine, weights read as stored ({@link LayerwiseComparison}),
 * so a model larger than memory verifies in bounded memory.
 */
public final class Verifier {
    /** A GLA layer whose attention moves less than this share of the residual update is flagged. */
    static final double NEGLIGIBLE_SHARE = 0.02;
    /** A hybrid's linear branch is useful when it beats the model without it by this factor on KL. */
    static final double USEFUL_BRANCH_FACTOR = 0.8;

    private Verifier() {}

    public static VerifyReport run(VerifyOptions options, Consumer<String> progress) throws IOException {
        try (ModelDescription bundle = CheckpointLoader.open(options.bundle())) {
            ModelConfig config = bundle.config();
            progress.accept("checking the bundle's structure");
            List<String> structure = new ArrayList<>(BundleStructure.check(bundle, options.bundle()));
            int[] tokens = tokens(options, config);
            progress.accept("comparing ONNX Runtime with the Java reference engine on the bundle's first tokens");
            VerifyReport.EngineAgreement engines = engines(bundle, options, tokens, structure);
            VerifyBaseline baseline = LayerKind.of(config).stream().anyMatch(LayerKind::keepsState) ? options.baseline() : null;
            Path spillFolder = Path.of(System.getProperty("java.io.tmpdir"));
            LayerwiseComparison.Result result;
            String referenceDescription;
            VerifyReport.Probes probes = null;
            double[] klAlone = null;
            if (options.referenceRecording() != null) {
                try (ReferenceRecording recording = ReferenceRecording.read(options.referenceRecording())) {
                    checkRecording(options, recording, tokens, config);
                    referenceDescription = recording.description();
                    result = LayerwiseComparison.run(bundle, new LayerwiseComparison.Recorded(recording), tokens, options.sequenceLength(), baseline,
                            spillFolder, progress);
                }
            }
            else {
                try (ModelDescription dense = CheckpointLoader.open(options.reference())) {
                    checkReference(options, dense.config(), config);
                    if (Files.isDirectory(options.bundle())) {
                        progress.accept("hashing the reference checkpoint");
                        ReferenceCheck.check(options.bundle(), options.reference(), dense, options.allowOtherReference(), warning -> progress.accept("warning: " + warning));
                    }
                    referenceDescription = options.reference().toString();
                    ReferenceRecording.Writer writer = options.saveReference() == null ? null
                            : new ReferenceRecording.Writer(options.saveReference(), tokens, config.layerCount(), config.hiddenSize(), config.vocabularySize());
                    try {
                        result = LayerwiseComparison.run(bundle, new LayerwiseComparison.Live(dense, writer), tokens, options.sequenceLength(), baseline,
                                spillFolder, progress);
                        if (writer != null) {
                            writer.finish(result.referenceAttentionShares(), referenceDescription);
                        }
                    }
                    finally {
                        if (writer != null) {
                            writer.close();
                        }
                    }
                    if (options.layerKl() || options.probes().any()) {
                        ReferenceModel bundleModel = ReferenceModel.load(bundle);
                        ReferenceModel denseModel = ReferenceModel.load(dense);
                        if (options.layerKl()) {
                            klAlone = klAlone(options, bundleModel, denseModel, tokens, progress);
                        }
                        if (options.probes().any()) {
                            probes = probes(options.probes(), bundleModel, denseModel, baseline, tokens, progress);
                        }
                    }
                }
            }
            boolean windowed = config.layers().stream().anyMatch(attention -> attention.kind().windowed());
            if (windowed && !result.longRange().sequencesExceedHorizon()) {
                progress.accept("warning: every evaluation sequence fits inside the smallest sliding window (" + result.longRange().horizon()
                        + " tokens), where it equals softmax: nothing here measures memory past the window (evaluate longer sequences, seq-len)");
            }
            VerifyReport.Baseline baselineReport = result.baseline() == null ? null : baselineReport(result.baseline(), result);
            List<VerifyReport.LayerReport> layers = layers(config, result, klAlone);
            boolean unfittedGla = Calibrator.hasUnfittedLinearLayers(options.bundle(), config);
            List<GoalResult> goals = goals(options.goals(), structure, engines, result.distance(), result.longRange(), baselineReport, result.spikes(), config)
                    .stream().map(goal -> goal.passed() ? goal
                            : goal.withNextStep(NextSteps.forGoal(goal.name(), options.bundle().toString(), unfittedGla, costliestLayer(layers))))
                    .toList();
            return new VerifyReport(options.bundle().toString(), referenceDescription, tokens.length, options.sequenceLength(), structure, engines,
                    result.distance(), result.beyondWindow(), result.longRange(), layers, baselineReport, probes,
                    BundleRecords.quantizationErrors(options.bundle()), BundleRecords.calibration(options.bundle()), result.spikes(), goals);
        }
    }

    /** "layer 4 (gla, KL 0.2140 alone)" for the layer whose KL alone is largest; null when it was not measured. */
    private static String costliestLayer(List<VerifyReport.LayerReport> layers) {
        return layers.stream().filter(layer -> layer.klAlone() != null).max(java.util.Comparator.comparingDouble(VerifyReport.LayerReport::klAlone))
                .map(layer -> String.format(Locale.ROOT, "layer %d (%s, KL %.4f alone)", layer.index(), layer.attention(), layer.klAlone())).orElse(null);
    }

    /** Each layer's KL alone ({@link LayerAttribution}) over the evaluation sequences. */
    private static double[] klAlone(VerifyOptions options, ReferenceModel bundle, ReferenceModel dense, int[] tokens, Consumer<String> progress) {
        ModelConfig config = bundle.config();
        MemoryBudget.require("verify's KL of each layer alone", LayerAttribution.bytes(config, Math.min(tokens.length, options.sequenceLength())), "seq-len");
        return LayerAttribution.klAlone(dense, bundle, TokenData.sequences(tokens, options.sequenceLength()), config.vocabularySize(), progress);
    }

    /**
     * The synthetic probe suite from the evaluation tokens ({@link RetrievalProbes}), the dense model first; the bundle
     * and the baseline (null for none) where the dense model passes. One probe sequence is in memory at a time.
     */
    private static VerifyReport.Probes probes(ProbeOptions options, ReferenceModel bundleModel, ReferenceModel denseModel, VerifyBaseline baseline,
            int[] tokens, Consumer<String> progress) {
        ModelConfig config = bundleModel.config();
        RetrievalProbes.Suite suite = RetrievalProbes.build(options, tokens, config.maxPositions());
        int longest = suite.probes().stream().mapToInt(probe -> probe.tokens().length).max().orElse(0);
        int answers = suite.probes().stream().mapToInt(probe -> probe.answers().length).max().orElse(0);
        MemoryBudget.require("verify's probes", (24L << 20) + 2L * longest * config.hiddenSize() * Float.BYTES + ReferenceModel.layerBytes(config, longest)
                + (long) answers * config.vocabularySize() * Float.BYTES, "probe-distances");
        ReferenceModel baselineModel = baseline == null ? null
                : LayerwiseComparison.baselineModel(baseline, bundleModel, denseModel, LayerwiseComparison.smallestWindow(config)).model();
        return RetrievalProbeRun.run(suite, options.trials(), config.vocabularySize(), RetrievalProbeRun.of(denseModel), RetrievalProbeRun.of(bundleModel),
                baselineModel == null ? null : RetrievalProbeRun.of(baselineModel), progress);
    }

    private static int[] tokens(VerifyOptions options, ModelConfig config) throws IOException {
        return TokenData.forModel(options.data(), options.tokenizer(), options.bundle(), config.vocabularySize(), options.skipTokens(), options.tokens(),
                "verify");
    }

    private static void checkRecording(VerifyOptions options, ReferenceRecording recording, int[] tokens, ModelConfig bundleConfig) {
        if (!Arrays.equals(recording.tokens(), tokens)) {
            throw InvalidInputException.forFile(options.referenceRecording(), "was recorded on other tokens than the data gives now ("
                    + recording.tokens().length + " vs " + tokens.length + " tokens); record it again (save-reference)");
        }
        if (recording.vocabulary() != bundleConfig.vocabularySize() || recording.layers() != bundleConfig.layerCount()) {
            throw InvalidInputException.forFile(options.referenceRecording(), "is for a model of another vocabulary or depth");
        }
    }

    private static void checkReference(VerifyOptions options, ModelConfig dense, ModelConfig bundle) {
        if (dense.vocabularySize() != bundle.vocabularySize() || dense.layerCount() != bundle.layerCount() || dense.hiddenSize() != bundle.hiddenSize()) {
            throw InvalidInputException.forFile(options.reference(), "is not the model " + options.bundle() + " was converted from "
                    + "(vocabulary, layers or hidden size differ)");
        }
    }

    /**
     * ONNX Runtime against the Java reference on the first tokens, on the bundle's own graph ({@link EngineAgreementCheck}).
     * A bundle without its graph, or with one that cannot be loaded, fails the structure goal (a line is added to
     * {@code structure}); the engines are then compared on the graph spikeconv would write, so the rest of the report holds.
     */
    private static VerifyReport.EngineAgreement engines(ModelDescription bundle, VerifyOptions options, int[] tokens, List<String> structure)
            throws IOException {
        int[] first = Arrays.copyOf(tokens, Math.min(Math.min(options.engineTokens(), options.sequenceLength()), tokens.length));
        Path folder = options.bundle().toAbsolutePath().normalize();
        Path graphFile = folder.resolve(DecoderGraphWriter.MODEL_FILE);
        if (Files.isRegularFile(graphFile)) {
            try {
                return EngineAgreementCheck.measure(bundle, OnnxRuntimeEngine.readGraph(graphFile), folder, options.runtime(), first,
                        options.goals().checksFreeRunningEngines());
            }
            catch (UnloadableGraphException e) {
                String problem = DecoderGraphWriter.MODEL_FILE + " " + e.reason();
                if (!structure.contains(problem)) {
                    structure.add(problem);
                }
            }
        }
        return EngineAgreementCheck.measure(bundle, OnnxRuntimeEngine.graphOf(bundle, folder), folder, options.runtime(), first,
                options.goals().checksFreeRunningEngines());
    }

    static double percentile(double[] sorted, double fraction) {
        if (sorted.length == 0) {
            return 0;
        }
        int index = (int) Math.ceil(fraction * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static List<VerifyReport.LayerReport> layers(ModelConfig config, LayerwiseComparison.Result result, double[] klAlone) {
        List<VerifyReport.LayerReport> layers = new ArrayList<>();
        for (int layer = 0; layer < config.layerCount(); layer++) {
            double share = result.attentionShares()[layer];
            boolean negligible = LayerKind.of(config, layer).keepsState() && share < NEGLIGIBLE_SHARE;
            layers.add(new VerifyReport.LayerReport(layer, config.layer(layer).toString(), result.cosines()[layer], share,
                    result.referenceAttentionShares()[layer], negligible, klAlone == null ? null : klAlone[layer]));
        }
        return layers;
    }

    private static List<GoalResult> goals(Goals goals, List<String> structure, VerifyReport.EngineAgreement engines, VerifyReport.Distance distance,
            VerifyReport.LongRange longRange, VerifyReport.Baseline baseline, List<SpikeStatistics> spikes, ModelConfig config) {
        List<GoalResult> results = new ArrayList<>();
        results.add(new GoalResult("structure", structure.isEmpty(),
                structure.isEmpty() ? "tensors, checksums, finite values and manifests are consistent" : structure.size() + " problem(s): " + String.join("; ", structure)));
        results.add(new GoalResult("max_engine_diff", engines.largestLogitDifference() <= goals.maxEngineDifference(),
                format("ONNX Runtime vs Java reference on the same spike counts: largest logit difference %.2e (largest logit %.1f) on %d tokens "
                        + "(goal <= %.2e)", engines.largestLogitDifference(), engines.largestLogit(), engines.tokens(), goals.maxEngineDifference())));
        if (!engines.counts().isEmpty()) {
            results.add(new GoalResult("min_engine_count_agreement", engines.identicalCountShare() >= goals.minEngineCountAgreement(),
                    format("spike counts from the same activations: %.6f identical in both engines over %d counts (goal >= %.4f)",
                            engines.identicalCountShare(), engines.countValues(), goals.minEngineCountAgreement())));
            results.add(new GoalResult("max_engine_flip_distance", engines.largestEdgeDistance() <= goals.maxEngineFlipDistance(),
                    format("largest distance of a differing count from its rounding edge: %.2e counts%s (goal <= %.2e; near 0 is float rounding)",
                            engines.largestEdgeDistance(), engines.largestEdgeDistance() > 0 ? " at " + engines.worstSite() : "", goals.maxEngineFlipDistance())));
        }
        if (engines.freeRunningMeanKl() != null) {
            results.add(new GoalResult("max_engine_kl", engines.freeRunningMeanKl() <= goals.maxEngineKl(),
                    format("free-running spiking engines: mean KL %.2e on %d tokens (goal <= %.2e)", engines.freeRunningMeanKl(), engines.tokens(),
                            goals.maxEngineKl())));
        }
        results.add(new GoalResult("max_kl", distance.meanKl() <= goals.maxKl(), format("mean KL %.4f (goal <= %.4f)", distance.meanKl(), goals.maxKl())));
        results.add(new GoalResult("max_kl_p99", distance.p99Kl() <= goals.maxKlP99(), format("p99 KL %.4f (goal <= %.4f)", distance.p99Kl(), goals.maxKlP99())));
        results.add(new GoalResult("min_top1", distance.topOne() >= goals.minTopOne(), format("top-1 agreement %.3f (goal >= %.3f)", distance.topOne(), goals.minTopOne())));
        results.add(new GoalResult("max_ppl_ratio", distance.perplexityRatio() <= goals.maxPerplexityRatio(),
                format("perplexity %.3f vs dense %.3f, ratio %.3f (goal <= %.3f)", distance.bundlePerplexity(), distance.referencePerplexity(),
                        distance.perplexityRatio(), goals.maxPerplexityRatio())));
        if (goals.minSparsity() > 0) {
            double sparsity = VerifyReport.sparsity(spikes);
            results.add(new GoalResult("min_sparsity", config.spike().spiking() && sparsity >= goals.minSparsity(),
                    config.spike().spiking() ? format("spike sparsity %.4f (goal >= %.4f)", sparsity, goals.minSparsity()) : "the bundle does not spike"));
        }
        if (goals.checksLongRange()) {
            VerifyReport.Bucket beyond = longRange.onlyBeyondHorizon();
            results.add(beyond.positions() == 0
                    ? new GoalResult("max_long_range_nll_ratio", false, format("no token recurs only beyond %d tokens in these sequences: evaluate longer "
                            + "sequences (seq-len) to measure what lies past the window", longRange.horizon()))
                    : new GoalResult("max_long_range_nll_ratio", beyond.nllRatio() <= goals.maxLongRangeNllRatio(),
                            format("tokens that last occurred only beyond %d back: NLL %.3f vs dense %.3f, ratio %.3f over %d positions (goal <= %.3f)",
                                    longRange.horizon(), beyond.bundleNll(), beyond.referenceNll(), beyond.nllRatio(), beyond.positions(),
                                    goals.maxLongRangeNllRatio())));
        }
        if (baseline != null && goals.requireLinearBranch()) {
            String converted = convertedLayers(config);
            results.add(switch (baseline.kind()) {
                case WITHOUT_GLA_ATTENTION -> new GoalResult("linear_branch_useful", baseline.glaBetter(),
                        format("KL %.4f with %s vs %.4f without their attention (useful below %.2f x the latter)", distance.meanKl(), converted,
                                baseline.meanKl(), USEFUL_BRANCH_FACTOR));
                case ALL_SWA -> {
                    VerifyReport.Bucket bundle = longRange.onlyBeyondHorizon();
                    yield bundle.positions() == 0
                            ? new GoalResult("gla_beyond_window", false, format("no token recurs only beyond %d tokens in these sequences: evaluate "
                                    + "longer sequences (seq-len) to see what %s add past the window", longRange.horizon(), converted))
                            : new GoalResult("gla_beyond_window", baseline.glaBetter(), format("tokens that last occurred only beyond %d back: NLL %.3f "
                                    + "with %s vs %.3f with SWA in their place (dense %.3f, %d positions): they %s memory past the window",
                                    longRange.horizon(), bundle.bundleNll(), converted, baseline.onlyBeyondHorizon().bundleNll(), bundle.referenceNll(),
                                    bundle.positions(), baseline.glaBetter() ? "add" : "lose"));
                }
            });
        }
        return results;
    }

    /** The layers a baseline replaces, as a goal's line names them: "the GLA layers", "the hybrid layers" or both. */
    private static String convertedLayers(ModelConfig config) {
        boolean gla = config.layers().stream().anyMatch(layer -> layer.kind().decayGate());
        boolean hybrid = config.layers().stream().anyMatch(layer -> layer.kind().linearFeatures());
        return gla && hybrid ? "the GLA and hybrid layers" : hybrid ? "the hybrid layers" : "the GLA layers";
    }

    /**
     * The baseline as reports show it; the GLA layers beat it on its own terms: on KL (by {@link #USEFUL_BRANCH_FACTOR})
     * against the bundle without their attention, on the NLL of tokens that recur only beyond the window against all SWA.
     */
    private static VerifyReport.Baseline baselineReport(LayerwiseComparison.BaselineResult baseline, LayerwiseComparison.Result result) {
        VerifyReport.Bucket baselineBeyond = baseline.longRange().onlyBeyondHorizon();
        VerifyReport.Bucket bundleBeyond = result.longRange().onlyBeyondHorizon();
        boolean glaBetter = switch (baseline.kind()) {
            case WITHOUT_GLA_ATTENTION -> result.distance().meanKl() < USEFUL_BRANCH_FACTOR * baseline.distance().meanKl();
            case ALL_SWA -> bundleBeyond.positions() > 0 && bundleBeyond.bundleNll() <= baselineBeyond.bundleNll();
        };
        return new VerifyReport.Baseline(baseline.kind(), baseline.model(), baseline.distance().meanKl(), baselineBeyond, glaBetter);
    }

    private static String format(String pattern, Object... values) {
        return String.format(Locale.ROOT, pattern, values);
    }
}
