package dev.spikeconv.converter.planner;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.MemoryBudget;
import dev.spikeconv.converter.calibration.CalibrationMemory;
import dev.spikeconv.converter.calibration.CalibrationProgress;
import dev.spikeconv.converter.execution.TokenData;
import dev.spikeconv.converter.layers.GatedLinearLayer;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.io.FileTrees;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Chooses which layers of a dense checkpoint become GLA, under a budget (docs/design.md §12). Every layer starts as a
 * sliding window; step 0 measures each layer alone as GLA, fitted by attention transfer (the measured score); each
 * further step adds the layer whose addition costs the least KL, re-measuring the best few remaining layers on top of the
 * plan so far (fitted as it grows), so errors that compound are seen. The chosen plan is then fitted afresh, layer by
 * layer as calibrate does, and its KL confirmed. The zero-cost score (attention inside sinks + a local window) is reported
 * beside the measured one: it explains, it does not decide.
 */
public final class PlanSearch {
    /** Caches and states are sized as bfloat16 values, as the shipped targets keep them. */
    public static final int CACHE_VALUE_BYTES = 2;

    private PlanSearch() {}

    public static PlanReport run(PlanOptions options, CalibrationProgress progress) throws IOException {
        long start = System.nanoTime();
        try (ModelDescription dense = CheckpointLoader.open(options.source())) {
            ModelConfig config = dense.config();
            if (config.architecture() == Architecture.GLA_SWA) {
                throw InvalidInputException.forFile(options.source(), "is a spikeconv bundle: plan measures the dense checkpoint it was converted from");
            }
            int layers = config.layerCount();
            int count = switch (options.budget()) {
                case PlanBudget.LinearLayers linear -> {
                    if (linear.count() > layers) {
                        throw new InvalidOptionException("gla", "the model has " + layers + " layers, found " + linear.count());
                    }
                    yield linear.count();
                }
                case PlanBudget.MaxCache cache -> layersForCache(config, options, cache.bytes());
                case PlanBudget.MaxDivergence divergence -> layers;
            };
            int[] fittingTokens = TokenData.forModel(options.data(), options.tokenizer(), options.source(), config.vocabularySize(), 0,
                    options.fitTokens(), "plan");
            int[] scoringTokens = TokenData.forModel(options.data(), options.tokenizer(), options.source(), config.vocabularySize(),
                    fittingTokens.length, options.evaluationTokens(), "plan");
            if (fittingTokens.length < options.fitTokens() || scoringTokens.length < options.evaluationTokens()) {
                progress.warning(options.data() + " gives " + fittingTokens.length + " + " + scoringTokens.length + " of the " + options.fitTokens()
                        + " + " + options.evaluationTokens() + " tokens asked for (fitting + scoring)");
            }
            if (config.maxPositions() > 0 && options.sequenceLength() > config.maxPositions()) {
                progress.warning("sequences of " + options.sequenceLength() + " tokens are longer than the model's context (" + config.maxPositions()
                        + "): plans are scored on positions it was not trained for");
            }
            List<int[]> fitting = sequences(fittingTokens, options.sequenceLength());
            List<int[]> scoring = sequences(scoringTokens, options.sequenceLength());
            if (fitting.size() < 2 || scoring.isEmpty()) {
                throw new InvalidOptionException("data", "gives " + fittingTokens.length + " + " + scoringTokens.length + " tokens: plan needs two "
                        + "sequences of --seq-len to fit and one more to score");
            }
            int[] lengths = IntStream.concat(fitting.stream().mapToInt(sequence -> sequence.length), scoring.stream().mapToInt(sequence -> sequence.length))
                    .toArray();
            MemoryBudget.require("plan's layer-by-layer passes", CalibrationMemory.passBytes(config, lengths, 1,
                    dense.tensor(LayerTensor.OUTPUT_WEIGHT.name(0)).byteSize()) + 2L * scoringTokens.length * config.hiddenSize() * Float.BYTES, "tokens");
            Path spill = Files.createTempDirectory("spikeconv-plan-");
            // Ctrl-C: the spilled streams' files go first (registered later), then this folder.
            spill.toFile().deleteOnExit();
            try (PlanPass pass = PlanPass.start(dense, options, fitting, scoring, spill, progress)) {
                return search(pass, config, options, count, fittingTokens.length, scoringTokens.length, start, progress);
            }
            finally {
                FileTrees.deleteQuietly(spill);
            }
        }
    }

    private static PlanReport search(PlanPass pass, ModelConfig config, PlanOptions options, int count, int fittingTokens, int scoringTokens,
            long start, CalibrationProgress progress) throws IOException {
        int layers = config.layerCount();
        Set<Integer> plan = new TreeSet<>();
        Map<String, TensorView> fitted = Map.of();
        List<PlanReport.SearchStep> steps = new ArrayList<>();
        int layerFits = 0;
        int passes = 0;
        progress.stage("step 0: every layer alone as GLA");
        PlanPass.Result result = pass.run(plan, options.searchWindow(), fitted, pass.allLayers(), false);
        layerFits += result.layerFits();
        passes++;
        double[] alone = new double[layers];
        Map<Integer, Double> latest = new TreeMap<>();
        result.branches().forEach((layer, branch) -> {
            alone[layer] = branch.score().meanKullbackLeibler();
            latest.put(layer, branch.score().meanKullbackLeibler());
        });
        steps.add(new PlanReport.SearchStep(0, List.of(), -1, result.score().meanKullbackLeibler(), result.score().longRange().bundleNll(),
                cacheBytes(pass, plan, options.searchWindow(), options), List.of()));
        Map<Integer, PlanPass.Branch> measured = result.branches();
        while (plan.size() < count && !measured.isEmpty()) {
            PlanPass.Branch best = measured.values().stream().min(Comparator.comparingDouble(branch -> branch.score().meanKullbackLeibler())).orElseThrow();
            if (options.budget() instanceof PlanBudget.MaxDivergence target && best.score().meanKullbackLeibler() > target.meanKullbackLeibler()) {
                progress.stage(String.format(Locale.ROOT, "adding layer %d would reach KL %.4f, beyond --max-kl %s: stopping", best.layer(),
                        best.score().meanKullbackLeibler(), target.meanKullbackLeibler()));
                break;
            }
            plan.add(best.layer());
            fitted = best.fitted();
            latest.remove(best.layer());
            steps.add(new PlanReport.SearchStep(steps.size(), List.copyOf(plan), best.layer(), best.score().meanKullbackLeibler(), best.score().longRange().bundleNll(),
                    cacheBytes(pass, plan, options.searchWindow(), options),
                    candidates(measured)));
            progress.stage(String.format(Locale.ROOT, "step %d: layer %d becomes GLA (KL %.4f)", steps.size() - 1, best.layer(), best.score().meanKullbackLeibler()));
            if (plan.size() == count || latest.isEmpty()) {
                break;
            }
            Set<Integer> next = new TreeSet<>(latest.entrySet().stream().sorted(Map.Entry.comparingByValue()).limit(options.candidatesPerStep())
                    .map(Map.Entry::getKey).toList());
            progress.stage("step " + steps.size() + ": measuring layers " + next + " on top of " + plan);
            result = pass.run(plan, options.searchWindow(), fitted, next, false);
            layerFits += result.layerFits();
            passes++;
            measured = result.branches();
            measured.forEach((layer, branch) -> latest.put(layer, branch.score().meanKullbackLeibler()));
        }
        progress.stage("confirming the plan: every GLA layer fitted afresh, layer by layer");
        long confirmStart = System.nanoTime();
        PlanPass.Result confirmation = pass.run(plan, options.searchWindow(), Map.of(), Set.of(), true);
        long confirmingNanos = System.nanoTime() - confirmStart;
        layerFits += confirmation.layerFits();
        passes++;
        SlidingWindowLayer window = options.searchWindow();
        List<PlanReport.WindowTrial> windowTrials = new ArrayList<>();
        if (options.budget() instanceof PlanBudget.MaxDivergence target) {
            // The window with the smallest cache that still meets the target: each tried with the plan fitted afresh above it.
            long searchCache = cacheBytes(pass, plan, window, options);
            List<SlidingWindowLayer> smaller = options.windows().stream().filter(candidate -> cacheBytes(pass, plan, candidate, options) < searchCache)
                    .sorted(Comparator.comparingLong(candidate -> cacheBytes(pass, plan, candidate, options))).toList();
            for (SlidingWindowLayer candidate : smaller) {
                progress.stage("trying " + candidate + " with the plan fitted afresh");
                PlanPass.Result trial = pass.run(plan, candidate, Map.of(), Set.of(), true);
                layerFits += trial.layerFits();
                passes++;
                boolean meets = trial.score().meanKullbackLeibler() <= target.meanKullbackLeibler();
                windowTrials.add(new PlanReport.WindowTrial(candidate.toString(), trial.score().meanKullbackLeibler(), trial.score().longRange().bundleNll(),
                        cacheBytes(pass, plan, candidate, options), meets));
                if (meets) {
                    window = candidate;
                    confirmation = trial;
                    break;
                }
            }
            if (confirmation.score().meanKullbackLeibler() > target.meanKullbackLeibler()) {
                progress.warning(String.format(Locale.ROOT, "the plan fitted afresh reads KL %.4f, beyond --max-kl %s: its search estimate was %.4f",
                        confirmation.score().meanKullbackLeibler(), target.meanKullbackLeibler(), steps.getLast().meanKullbackLeibler()));
            }
        }
        int longest = pass.longestScoringSequence();
        if (window.window() >= longest && window.window() < config.maxPositions()) {
            progress.warning("windows of " + window.window() + " are not measured by scoring sequences of " + longest + " tokens: on them a window is "
                    + "softmax; use --seq-len above the window to see what it loses");
        }
        ModelConfig chosen = pass.config(plan, window);
        double[][] locality = pass.locality();
        List<PlanReport.LayerScore> scores = new ArrayList<>();
        for (int layer = 0; layer < layers; layer++) {
            double[] heads = locality[layer];
            scores.add(new PlanReport.LayerScore(layer, Arrays.stream(heads).average().orElse(Double.NaN), Arrays.stream(heads).min().orElse(Double.NaN),
                    alone[layer], chosen.layer(layer).toString()));
        }
        return new PlanReport(options.source(), describe(options.budget()), fittingTokens, scoringTokens, window.window(), window.sinks(),
                options.localWindow(), options.context(), LayerPlans.explicit(chosen.layers()), scores, steps, windowTrials,
                new PlanReport.LongRange(confirmation.score().longRange().positions(), confirmation.score().longRange().referenceNll()),
                new PlanReport.Confirmation(confirmation.score().meanKullbackLeibler(), confirmation.score().longRange().bundleNll(),
                        cacheBytes(pass, plan, window, options)),
                new PlanReport.Cost(layerFits, passes, System.nanoTime() - start, confirmingNanos));
    }

    /** The fewest GLA layers whose plan's cache fits {@code bytes}: every other layer keeps its window's keys and values. */
    private static int layersForCache(ModelConfig config, PlanOptions options, long bytes) {
        int layers = config.layerCount();
        for (int linear = 0; linear <= layers; linear++) {
            if (cacheBytes(config, options, linear) <= bytes) {
                return linear;
            }
        }
        long smallest = IntStream.rangeClosed(0, layers).mapToLong(linear -> cacheBytes(config, options, linear)).min().orElseThrow();
        throw new InvalidOptionException("max-cache", "no plan of GLA and " + options.searchWindow() + " layers fits " + bytes + " bytes at context " + options.context() + "; the smallest needs " + smallest);
    }

    private static long cacheBytes(ModelConfig config, PlanOptions options, int linear) {
        LayerKind.SequenceMemory linearMemory = new GatedLinearLayer().sequenceMemory(config, options.context());
        LayerKind.SequenceMemory windowMemory = options.searchWindow().sequenceMemory(config, options.context());
        return CACHE_VALUE_BYTES * (linear * total(linearMemory) + (config.layerCount() - linear) * total(windowMemory));
    }

    private static long cacheBytes(PlanPass pass, Set<Integer> plan, SlidingWindowLayer window, PlanOptions options) {
        ModelConfig config = pass.config(plan, window);
        long values = 0;
        for (int layer = 0; layer < config.layerCount(); layer++) {
            values += total(LayerKind.of(config, layer).sequenceMemory(config, options.context()));
        }
        return CACHE_VALUE_BYTES * values;
    }

    private static long total(LayerKind.SequenceMemory memory) {
        return memory.stateValues() + memory.windowCacheValues() + memory.growingCacheValues();
    }

    private static List<PlanReport.Candidate> candidates(Map<Integer, PlanPass.Branch> branches) {
        return branches.values().stream().map(branch -> new PlanReport.Candidate(branch.layer(), branch.score().meanKullbackLeibler(),
                branch.score().longRange().bundleNll())).toList();
    }

    private static List<int[]> sequences(int[] tokens, int length) {
        List<int[]> sequences = new ArrayList<>();
        for (int start = 0; start < tokens.length; start += length) {
            sequences.add(Arrays.copyOfRange(tokens, start, Math.min(tokens.length, start + length)));
        }
        return sequences;
    }

    /** The budget as the command line gives it. */
    static String describe(PlanBudget budget) {
        return switch (budget) {
            case PlanBudget.LinearLayers linear -> "--gla " + linear.count();
            case PlanBudget.MaxCache cache -> "--max-cache " + cache.bytes();
            case PlanBudget.MaxDivergence divergence -> "--max-kl " + divergence.meanKullbackLeibler();
        };
    }
}
