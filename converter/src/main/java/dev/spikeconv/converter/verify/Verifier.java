package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.converter.execution.TokenData;
import dev.spikeconv.converter.hardware.ModelFootprint;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.metrics.Divergence;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.GraphOptions;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.converter.spiking.SpikeStatistics;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tokenizer.Tokenizer;
import dev.spikeconv.formats.tokenizer.TokenizerLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;
import java.util.function.Consumer;

/**
 * Runs a bundle and its dense reference on the same tokens (DESIGN §7) and measures: the bundle's
 * structure, ONNX Runtime against the Java reference, the distance of the next-token distributions,
 * per-layer hidden-state cosine and attention shares, a baseline without the GLA layers' attention,
 * perplexity past the sliding window, and spike activity; then checks the goals.
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
            List<String> structure = BundleStructure.check(bundle, options.bundle());
            int[] tokens = tokens(options, config);
            ReferenceRecording reference = reference(options, tokens, config, progress);
            progress.accept("running the bundle on ONNX Runtime");
            BundleRun run = runBundle(bundle, options, tokens);
            progress.accept("running the bundle on the Java reference engine");
            VerifyReport.EngineAgreement engines = engines(bundle, options, tokens);
            // Every comparison below reads each model's log-sum-exp per position, taken once here.
            LogitsWithSums referenceLogits = new LogitsWithSums(reference.logits());
            LogitsWithSums bundleLogits = new LogitsWithSums(run.logits());
            double[] bundleKl = Divergence.kullbackLeiblers(referenceLogits.logits(), referenceLogits.logSums(), bundleLogits.logits(), bundleLogits.logSums());
            VerifyReport.Baseline baseline = null;
            if (LayerKind.of(config).stream().anyMatch(LayerKind::keepsState)) {
                progress.accept("running the baseline without GLA attention");
                LogitsWithSums withoutLinear = new LogitsWithSums(logits(bundle, options, tokens, GraphOptions.STANDARD.droppingGatedLinearAttention()));
                double baselineKl = Divergence.mean(Divergence.kullbackLeiblers(referenceLogits.logits(), referenceLogits.logSums(), withoutLinear.logits(),
                        withoutLinear.logSums()));
                baseline = new VerifyReport.Baseline(baselineKl, Divergence.mean(bundleKl) < USEFUL_BRANCH_FACTOR * baselineKl);
            }
            VerifyReport.Distance distance = distance(referenceLogits, bundleLogits, bundleKl, tokens, options.sequenceLength());
            VerifyReport.BeyondWindow beyondWindow = beyondWindow(config, referenceLogits, bundleLogits, tokens, options.sequenceLength());
            List<VerifyReport.LayerReport> layers = layers(config, reference, run);
            List<GoalResult> goals = goals(options.goals(), structure, engines, distance, baseline, run.spikes(), config);
            VerifyReport report = new VerifyReport(options.bundle().toString(), reference.description(), tokens.length, options.sequenceLength(),
                    structure, engines, distance, beyondWindow, layers, baseline, run.spikes(), goals);
            if (options.saveReference() != null) {
                reference.write(options.saveReference());
            }
            return report;
        }
    }

    private static int[] tokens(VerifyOptions options, ModelConfig config) throws IOException {
        Tokenizer tokenizer = null;
        if (!TokenData.isTokenIdFile(options.data())) {
            tokenizer = options.tokenizer() != null ? TokenizerLoader.fromFile(options.tokenizer(), config.vocabularySize())
                    : TokenizerLoader.forModel(options.bundle(), config.vocabularySize()).orElse(null);
        }
        int[] tokens = TokenData.tokens(options.data(), options.skipTokens(), options.tokens(), tokenizer, config.vocabularySize());
        if (tokens.length < 2) {
            throw InvalidInputException.forFile(options.data(), "gives " + tokens.length + " token(s); verify needs at least 2");
        }
        return tokens;
    }

    /** The dense side: run now, or read from a saved recording of the same tokens. */
    private static ReferenceRecording reference(VerifyOptions options, int[] tokens, ModelConfig bundleConfig, Consumer<String> progress) throws IOException {
        if (options.referenceRecording() != null) {
            ReferenceRecording recording = ReferenceRecording.read(options.referenceRecording());
            if (!Arrays.equals(recording.tokens(), tokens)) {
                throw InvalidInputException.forFile(options.referenceRecording(), "was recorded on other tokens than the data gives now ("
                        + recording.tokens().length + " vs " + tokens.length + " tokens); record it again (save-reference)");
            }
            if (recording.logits()[0].length != bundleConfig.vocabularySize() || recording.hiddenStates().length != bundleConfig.layerCount()) {
                throw InvalidInputException.forFile(options.referenceRecording(), "is for a model of another vocabulary or depth");
            }
            return recording;
        }
        progress.accept("running the dense reference on ONNX Runtime");
        try (ModelDescription dense = CheckpointLoader.open(options.reference())) {
            ModelConfig config = dense.config();
            if (config.vocabularySize() != bundleConfig.vocabularySize() || config.layerCount() != bundleConfig.layerCount()
                    || config.hiddenSize() != bundleConfig.hiddenSize()) {
                throw InvalidInputException.forFile(options.reference(), "is not the model " + options.bundle() + " was converted from "
                        + "(vocabulary, layers or hidden size differ)");
            }
            List<String> traced = LayerRecorder.tracedValues(config);
            LayerRecorder recorder = new LayerRecorder(config.layerCount(), tokens.length);
            try (OnnxRuntimeEngine engine = OnnxRuntimeEngine.export(dense, options.runtime(), GraphOptions.STANDARD, traced)) {
                forEachSequence(tokens, options.sequenceLength(), (start, sequence) -> {
                    try (OnnxRuntimeEngine.RuntimeSession session = engine.newSession()) {
                        recorder.add(start, session.forwardTraced(sequence, traced));
                    }
                });
            }
            return new ReferenceRecording(tokens, recorder.logits, recorder.hidden, recorder.shares.shares(), options.reference().toString());
        }
    }

    /** What one run of the bundle gives: logits, hidden states, attention shares and spike statistics. */
    private record BundleRun(float[][] logits, float[][][] hiddenStates, double[] attentionShares, List<SpikeStatistics> spikes) {}

    private static BundleRun runBundle(ModelDescription bundle, VerifyOptions options, int[] tokens) throws IOException {
        ModelConfig config = bundle.config();
        SpikeSettings spike = config.spike();
        List<String> traced = new ArrayList<>(LayerRecorder.tracedValues(config));
        SequencedMap<String, SiteThreshold> thresholds = SpikeSites.thresholds(bundle);
        // Sites that read the same activations with the same threshold send the same spikes: measured once, under the
        // first one's name, each traced input once.
        Map<List<String>, String> inputs = new LinkedHashMap<>();
        Map<List<String>, SpikeStatistics> measured = new LinkedHashMap<>();
        for (List<String> group : SpikeSites.sharedInputGroups(config)) {
            String input = DecoderGraphWriter.projectionInput(group.getFirst());
            traced.add(input);
            Map<SiteThreshold, List<String>> byThreshold = new LinkedHashMap<>();
            group.forEach(site -> byThreshold.computeIfAbsent(thresholds.get(site), unused -> new ArrayList<>()).add(site));
            byThreshold.forEach((threshold, sites) -> {
                inputs.put(sites, input);
                measured.put(sites, new SpikeStatistics(sites.getFirst(), threshold, spike, ModelFootprint.timeSteps(spike)));
            });
        }
        LayerRecorder recorder = new LayerRecorder(config.layerCount(), tokens.length);
        try (OnnxRuntimeEngine engine = openBundle(bundle, options, traced)) {
            forEachSequence(tokens, options.sequenceLength(), (start, sequence) -> {
                try (OnnxRuntimeEngine.RuntimeSession session = engine.newSession()) {
                    OnnxRuntimeEngine.Trace trace = session.forwardTraced(sequence, traced);
                    recorder.add(start, trace);
                    // Each statistics object is filled by one thread: the result does not depend on the split.
                    measured.entrySet().parallelStream().forEach(entry -> entry.getValue().add(trace.values().get(inputs.get(entry.getKey()))));
                }
            });
        }
        Map<String, SpikeStatistics> bySite = new HashMap<>();
        measured.forEach((sites, statistics) -> sites.forEach(site -> bySite.put(site, statistics.copyFor(site))));
        List<SpikeStatistics> spikes = thresholds.keySet().stream().map(bySite::get).toList();
        return new BundleRun(recorder.logits, recorder.hidden, recorder.shares.shares(), spikes);
    }

    private static OnnxRuntimeEngine openBundle(ModelDescription bundle, VerifyOptions options, List<String> traced) throws IOException {
        Path graph = options.bundle().resolve(DecoderGraphWriter.MODEL_FILE);
        return Files.isRegularFile(graph)
                ? OnnxRuntimeEngine.open(graph, bundle.config(), options.runtime(), traced)
                : OnnxRuntimeEngine.export(bundle, options.runtime(), GraphOptions.STANDARD, traced);
    }

    private static float[][] logits(ModelDescription bundle, VerifyOptions options, int[] tokens, GraphOptions graphOptions) throws IOException {
        float[][] logits = new float[tokens.length][];
        try (OnnxRuntimeEngine engine = OnnxRuntimeEngine.export(bundle, options.runtime(), graphOptions, List.of())) {
            forEachSequence(tokens, options.sequenceLength(), (start, sequence) -> {
                try (InferenceSession session = engine.newSession()) {
                    System.arraycopy(session.forward(sequence), 0, logits, start, sequence.length);
                }
            });
        }
        return logits;
    }

    /** ONNX Runtime against the Java reference on the first tokens, on the bundle's own graph ({@link EngineAgreementCheck}). */
    private static VerifyReport.EngineAgreement engines(ModelDescription bundle, VerifyOptions options, int[] tokens) throws IOException {
        int count = Math.min(Math.min(options.engineTokens(), options.sequenceLength()), tokens.length);
        return EngineAgreementCheck.measure(bundle, traced -> openBundle(bundle, options, traced), Arrays.copyOf(tokens, count),
                options.goals().checksFreeRunningEngines());
    }

    @FunctionalInterface
    private interface SequenceAction {
        void run(int start, int[] sequence) throws IOException;
    }

    private static void forEachSequence(int[] tokens, int length, SequenceAction action) throws IOException {
        for (int start = 0; start < tokens.length; start += length) {
            action.run(start, Arrays.copyOfRange(tokens, start, Math.min(tokens.length, start + length)));
        }
    }

    /** Logits, hidden states and attention shares of a traced run, sequence by sequence, in token order. */
    private static final class LayerRecorder {
        final float[][] logits;
        final float[][][] hidden;
        final ShareAccumulator shares;

        LayerRecorder(int layers, int tokens) {
            logits = new float[tokens][];
            hidden = new float[layers][tokens][];
            shares = new ShareAccumulator(layers);
        }

        /** The values a run must trace for {@link #add}: every layer's residual stream and both branch outputs. */
        static List<String> tracedValues(ModelConfig config) {
            List<String> traced = new ArrayList<>();
            for (int layer = 0; layer < config.layerCount(); layer++) {
                traced.add(DecoderGraphWriter.hiddenStates(layer));
                traced.add(DecoderGraphWriter.attentionOutput(layer));
                traced.add(DecoderGraphWriter.mlpOutput(layer));
            }
            return traced;
        }

        void add(int start, OnnxRuntimeEngine.Trace trace) {
            int count = trace.logits().length;
            System.arraycopy(trace.logits(), 0, logits, start, count);
            for (int layer = 0; layer < hidden.length; layer++) {
                System.arraycopy(trace.values().get(DecoderGraphWriter.hiddenStates(layer)), 0, hidden[layer], start, count);
                shares.add(layer, trace.values().get(DecoderGraphWriter.attentionOutput(layer)), trace.values().get(DecoderGraphWriter.mlpOutput(layer)));
            }
        }
    }

    /** Mean over tokens of |attention| / (|attention| + |mlp|), per layer. */
    private static final class ShareAccumulator {
        private final double[] sums;
        private final long[] counts;

        ShareAccumulator(int layers) {
            sums = new double[layers];
            counts = new long[layers];
        }

        void add(int layer, float[][] attention, float[][] mlp) {
            for (int t = 0; t < attention.length; t++) {
                double a = norm(attention[t]);
                double m = norm(mlp[t]);
                sums[layer] += a + m == 0 ? 0 : a / (a + m);
                counts[layer]++;
            }
        }

        double[] shares() {
            double[] shares = new double[sums.length];
            for (int i = 0; i < shares.length; i++) {
                shares[i] = counts[i] == 0 ? 0 : sums[i] / counts[i];
            }
            return shares;
        }
    }

    private static double norm(float[] vector) {
        double sum = 0;
        for (float value : vector) {
            sum += (double) value * value;
        }
        return Math.sqrt(sum);
    }

    /** One model's logits at every position with their log-sum-exps, so log-probabilities cost no exponential. */
    private record LogitsWithSums(float[][] logits, double[] logSums) {
        LogitsWithSums(float[][] logits) {
            this(logits, Divergence.logSumExps(logits));
        }

        double logProbability(int position, int token) {
            return logits[position][token] - logSums[position];
        }
    }

    private static VerifyReport.Distance distance(LogitsWithSums reference, LogitsWithSums bundle, double[] kl, int[] tokens, int sequenceLength) {
        double[] sorted = kl.clone();
        Arrays.sort(sorted);
        double referenceLoss = 0;
        double bundleLoss = 0;
        double probabilityChange = 0;
        int predicted = 0;
        for (int t = 0; t + 1 < tokens.length; t++) {
            if ((t + 1) % sequenceLength == 0) {
                continue; // the last token of a sequence predicts nothing inside it
            }
            int next = tokens[t + 1];
            double logReference = reference.logProbability(t, next);
            double logBundle = bundle.logProbability(t, next);
            referenceLoss -= logReference;
            bundleLoss -= logBundle;
            probabilityChange += Math.exp(logBundle) - Math.exp(logReference);
            predicted++;
        }
        double referencePerplexity = Math.exp(referenceLoss / Math.max(1, predicted));
        double bundlePerplexity = Math.exp(bundleLoss / Math.max(1, predicted));
        return new VerifyReport.Distance(Arrays.stream(kl).average().orElse(0), percentile(sorted, 0.5), percentile(sorted, 0.9), percentile(sorted, 0.99),
                Divergence.topOneAgreement(reference.logits(), bundle.logits()), referencePerplexity, bundlePerplexity, bundlePerplexity / referencePerplexity,
                probabilityChange / Math.max(1, predicted), kl);
    }

    static double percentile(double[] sorted, double fraction) {
        if (sorted.length == 0) {
            return 0;
        }
        int index = (int) Math.ceil(fraction * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static VerifyReport.BeyondWindow beyondWindow(ModelConfig config, LogitsWithSums reference, LogitsWithSums bundle, int[] tokens, int sequenceLength) {
        // A window is 0 for kinds without one.
        int window = config.layers().stream().mapToInt(LayerAttention::window).max().orElse(0);
        if (window == 0) {
            return null;
        }
        double referenceLoss = 0;
        double bundleLoss = 0;
        int positions = 0;
        for (int t = 0; t + 1 < tokens.length; t++) {
            int inSequence = t % sequenceLength;
            if (inSequence < window || (t + 1) % sequenceLength == 0) {
                continue;
            }
            referenceLoss -= reference.logProbability(t, tokens[t + 1]);
            bundleLoss -= bundle.logProbability(t, tokens[t + 1]);
            positions++;
        }
        return positions == 0 ? null
                : new VerifyReport.BeyondWindow(window, positions, Math.exp(referenceLoss / positions), Math.exp(bundleLoss / positions));
    }

    private static List<VerifyReport.LayerReport> layers(ModelConfig config, ReferenceRecording reference, BundleRun run) {
        List<VerifyReport.LayerReport> layers = new ArrayList<>();
        for (int layer = 0; layer < config.layerCount(); layer++) {
            double cosine = 0;
            int count = run.hiddenStates()[layer].length;
            for (int t = 0; t < count; t++) {
                cosine += cosine(reference.hiddenStates()[layer][t], run.hiddenStates()[layer][t]);
            }
            LayerAttention attention = config.layer(layer);
            double share = run.attentionShares()[layer];
            boolean negligible = LayerKind.of(attention).keepsState() && share < NEGLIGIBLE_SHARE;
            layers.add(new VerifyReport.LayerReport(layer, attention.toString(), cosine / count, share, reference.attentionShares()[layer], negligible));
        }
        return layers;
    }

    private static double cosine(float[] first, float[] second) {
        double dot = 0;
        double firstNorm = 0;
        double secondNorm = 0;
        for (int i = 0; i < first.length; i++) {
            dot += (double) first[i] * second[i];
            firstNorm += (double) first[i] * first[i];
            secondNorm += (double) second[i] * second[i];
        }
        return firstNorm == 0 || secondNorm == 0 ? 0 : dot / Math.sqrt(firstNorm * secondNorm);
    }

    private static List<GoalResult> goals(Goals goals, List<String> structure, VerifyReport.EngineAgreement engines, VerifyReport.Distance distance,
            VerifyReport.Baseline baseline, List<SpikeStatistics> spikes, ModelConfig config) {
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
            VerifyReport probe = new VerifyReport("", "", 0, 0, List.of(), engines, distance, null, List.of(), null, spikes, List.of());
            double sparsity = probe.totalSparsity();
            results.add(new GoalResult("min_sparsity", config.spike().spiking() && sparsity >= goals.minSparsity(),
                    config.spike().spiking() ? format("spike sparsity %.4f (goal >= %.4f)", sparsity, goals.minSparsity()) : "the bundle does not spike"));
        }
        if (baseline != null && goals.requireLinearBranch()) {
            results.add(new GoalResult("linear_branch_useful", baseline.linearBranchUseful(),
                    format("KL %.4f with the GLA layers vs %.4f without their attention (useful below %.2f x the latter)", distance.meanKl(), baseline.meanKl(),
                            USEFUL_BRANCH_FACTOR)));
        }
        return results;
    }

    private static String format(String pattern, Object... values) {
        return String.format(Locale.ROOT, pattern, values);
    }
}
