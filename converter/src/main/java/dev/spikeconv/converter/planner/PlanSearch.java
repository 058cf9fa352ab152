package dev.spikeconv.converter.planner;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.MemoryBudget;
import dev.spikeconv.converter.calibration.CalibrationMemory;
import dev.spikeconv.converter.calibration.CalibrationProgress;
import dev.spikeconv.converter.execution.TokenData;
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
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
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
    private static final int CACHE_VALUE_BYTES = 2;

    private PlanSearch() {}

    public static PlanReport run(PlanOptions options, CalibrationProgress progress) throws IOException {
        long start = System.nanoTime();
        try (ModelDescription dense = CheckpointLoader.open(options.source())) {
            ModelConfig config = dense.config();
            if (config.architecture() == Architecture.GLA_SWA) {
                throw InvalidInputException.forFile(options.source(), "is a spikeconv bundle: plan measures the dense checkpoint it was converted from");
            }
            int layers = config.layerCount();
            switch (options.budget()) {
                case PlanBudget.ConvertedLayers linear -> {
                    if (linear.count() > layers) {
                        throw new InvalidOptionException("gla", "the model has " + layers + " layers, found " + linear.count());
                    }
                }
                case PlanBudget.MaxCache cache -> checkReachable(config, options, cache.bytes());
                case PlanBudget.MaxDivergence divergence -> {
                    // any number of layers
                }
            }
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
            List<int[]> fitting = TokenData.sequences(fittingTokens, options.sequenceLength());
            List<int[]> scoring = TokenData.sequences(scoringTokens, options.sequenceLength());
            if (fitting.size() < 2 || scoring.isEmpty()) {
                throw new InvalidOptionException("data", "gives " + fittingTokens.length + " + " + scoringTokens.length + " tokens: plan needs two "
                        + "sequences of --seq-len to fit and one more to score");
            }
            int[] lengths = IntStream.concat(fitting.stream().mapToInt(sequence -> sequence.length), scoring.stream().mapToInt(sequence -> sequence.length))
                    .toArray();
            long longest = Math.min(options.sequenceLength(), scoringTokens.length);
            long logitBytes = Math.min((long) scoringTokens.length * config.vocabularySize() * Float.BYTES, PlanPass.LOGIT_MEMORY_LIMIT)
                    + 2 * longest * config.vocabularySize() * Float.BYTES;
            MemoryBudget.require("plan's layer-by-layer passes", CalibrationMemory.passBytes(config, lengths, 1,
                    dense.tensor(LayerTensor.OUTPUT_WEIGHT.name(0)).byteSize()) + 2L * scoringTokens.length * config.hiddenSize() * Float.BYTES
                    + logitBytes, "tokens");
            Path spill = Files.createTempDirectory("spikeconv-plan-");
            // Ctrl-C: the spilled streams' files go first (registered later), then this folder.
            spill.toFile().deleteOnExit();
            try (PlanPass pass = PlanPass.start(dense, options, fitting, scoring, spill, progress)) {
                return search(pass, config, options, fittingTokens.length, scoringTokens.length, start, progress);
            }
            finally {
                FileTrees.deleteQuietly(spill);
            }
        }
    }

    private static PlanReport search(PlanPass pass, ModelConfig config, PlanOptions options, int fittingTokens, int scoringTokens, long start,
            CalibrationProgress progress) throws IOException {
        int layers = config.layerCount();
        SlidingWindowLayer searchWindow = options.searchWindow();
        Map<Integer, LayerKind> plan = new TreeMap<>();
        Map<String, TensorView> fitted = Map.of();
        List<PlanReport.SearchStep> steps = new ArrayList<>();
        int layerFits = 0;
        int passes = 0;
        progress.stage("step 0: every layer alone as " + options.kinds().stream().map(Object::toString).collect(Collectors.joining(", ")));
        double limit = options.budget() instanceof PlanBudget.MaxDivergence target ? target.meanKullbackLeibler() : Double.POSITIVE_INFINITY;
        PlanPass.Result result = pass.run(plan, searchWindow, fitted, pass.allLayers(), false, limit);
        layerFits += result.layerFits();
        passes++;
        List<PlanPass.Branch> alone = result.branches();
        // The best KL each layer reached at its last measurement, over the kinds: the order the next candidates are taken in.
        Map<Integer, Double> latest = new TreeMap<>();
        alone.forEach(branch -> latest.merge(branch.layer(), branch.score().meanKullbackLeibler(), Math::min));
        steps.add(new PlanReport.SearchStep(0, List.of(), -1, "", result.score().meanKullbackLeibler(), result.score().longRange().bundleNll(),
                cacheBytes(pass, plan, searchWindow, options), List.of()));
        List<PlanPass.Branch> measured = alone;
        while (!budgetMet(options.budget(), plan, cacheBytes(pass, plan, searchWindow, options), layers) && !measured.isEmpty()) {
            PlanPass.Fitted chosen = cheapest(pass, plan, steps.getLast().meanKullbackLeibler(), result.bestPerKind().values(), options);
            if (chosen == null) {
                progress.stage("no remaining layer converts within the budget: stopping");
                break;
            }
            PlanPass.Branch best = chosen.branch();
            plan.put(best.layer(), best.kind());
            fitted = chosen.tensors();
            latest.remove(best.layer());
            steps.add(new PlanReport.SearchStep(steps.size(), List.copyOf(plan.keySet()), best.layer(), best.kind().toString(),
                    best.score().meanKullbackLeibler(), best.score().longRange().bundleNll(), cacheBytes(pass, plan, searchWindow, options),
                    candidates(measured)));
            progress.stage(String.format(Locale.ROOT, "step %d: layer %d becomes %s (KL %.4f)", steps.size() - 1, best.layer(), best.kind(),
                    best.score().meanKullbackLeibler()));
            if (budgetMet(options.budget(), plan, cacheBytes(pass, plan, searchWindow, options), layers) || latest.isEmpty()) {
                break;
            }
            Set<Integer> next = new TreeSet<>(latest.entrySet().stream().sorted(Map.Entry.comparingByValue()).limit(options.candidatesPerStep())
                    .map(Map.Entry::getKey).toList());
            progress.stage("step " + steps.size() + ": measuring layers " + next + " on top of " + plan.keySet());
            result = pass.run(plan, searchWindow, fitted, next, false, limit);
            layerFits += result.layerFits();
            passes++;
            measured = result.branches();
            next.forEach(latest::remove);
            measured.forEach(branch -> latest.merge(branch.layer(), branch.score().meanKullbackLeibler(), Math::min));
        }
        progress.stage("confirming the plan: every converted layer fitted afresh, layer by layer");
        long confirmStart = System.nanoTime();
        PlanPass.Result confirmation = pass.run(plan, searchWindow, Map.of(), Set.of(), true, limit);
        long confirmingNanos = System.nanoTime() - confirmStart;
        layerFits += confirmation.layerFits();
        passes++;
        SlidingWindowLayer window = searchWindow;
        List<PlanReport.WindowTrial> windowTrials = new ArrayList<>();
        if (options.budget() instanceof PlanBudget.MaxDivergence target) {
            // The window with the smallest cache that still meets the target: each tried with the plan fitted afresh above it.
            long searchCache = cacheBytes(pass, plan, window, options);
            List<SlidingWindowLayer> smaller = options.windows().stream().filter(candidate -> cacheBytes(pass, plan, candidate, options) < searchCache)
                    .sorted(Comparator.comparingLong(candidate -> cacheBytes(pass, plan, candidate, options))).toList();
            for (SlidingWindowLayer candidate : smaller) {
                progress.stage("trying " + candidate + " with the plan fitted afresh");
                PlanPass.Result trial = pass.run(plan, candidate, Map.of(), Set.of(), true, limit);
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
            int index = layer;
            scores.add(new PlanReport.LayerScore(layer, Arrays.stream(heads).average().orElse(Double.NaN), Arrays.stream(heads).min().orElse(Double.NaN),
                    candidates(alone.stream().filter(branch -> branch.layer() == index).toList()), chosen.layer(layer).toString()));
        }
        return new PlanReport(options.source(), describe(options.budget()), fittingTokens, scoringTokens, window.window(), window.sinks(),
                options.localWindow(), options.context(), LayerPlans.explicit(chosen.layers()), scores, steps, windowTrials,
                new PlanReport.LongRange(confirmation.score().longRange().positions(), confirmation.score().longRange().referenceNll()),
                new PlanReport.Confirmation(confirmation.score().meanKullbackLeibler(), confirmation.score().longRange().bundleNll(),
                        cacheBytes(pass, plan, window, options)),
                new PlanReport.Cost(layerFits, passes, System.nanoTime() - start, confirmingNanos));
    }

    /** Refuses a cache bound no plan can meet: not even every layer converted to the kind that keeps the least. */
    private static void checkReachable(ModelConfig config, PlanOptions options, long bytes) {
        long smallest = CACHE_VALUE_BYTES * config.layerCount() * total(options.searchWindow().sequenceMemory(config, options.context()));
        for (LayerKind kind : options.kinds()) {
            smallest = Math.min(smallest, CACHE_VALUE_BYTES * config.layerCount() * total(kind.sequenceMemory(config, options.context())));
        }
        if (smallest > bytes) {
            throw new InvalidOptionException("max-cache", "no plan of " + options.kinds().stream().map(Object::toString).collect(Collectors.joining(", "))
                    + " and " + options.searchWindow() + " layers fits " + bytes + " bytes at context " + options.context() + "; the smallest needs " + smallest);
        }
    }

    /** Whether {@code plan}, whose cache is {@code cacheBytes}, meets the budget (or has converted every layer). */
    private static boolean budgetMet(PlanBudget budget, Map<Integer, LayerKind> plan, long cacheBytes, int layers) {
        if (plan.size() == layers) {
            return true;
        }
        return switch (budget) {
            case PlanBudget.ConvertedLayers linear -> plan.size() >= linear.count();
            case PlanBudget.MaxCache cache -> cacheBytes <= cache.bytes();
            case PlanBudget.MaxDivergence divergence -> false;
        };
    }

    /**
     * Of the pass's best branch per kind, the one that costs the least KL per byte of cache it saves over {@code plan} (whose
     * KL is {@code kl}): with one kind that is the least KL; of equal costs, the larger saving. A branch that saves nothing
     * is never taken. Null when none is left.
     */
    private static PlanPass.Fitted cheapest(PlanPass pass, Map<Integer, LayerKind> plan, double kl, Collection<PlanPass.Fitted> bestPerKind,
            PlanOptions options) {
        long cache = cacheBytes(pass, plan, options.searchWindow(), options);
        PlanPass.Fitted best = null;
        double bestCost = Double.POSITIVE_INFINITY;
        long bestSaved = 0;
        for (PlanPass.Fitted fitted : bestPerKind) {
            PlanPass.Branch branch = fitted.branch();
            Map<Integer, LayerKind> extended = new TreeMap<>(plan);
            extended.put(branch.layer(), branch.kind());
            long saved = cache - cacheBytes(pass, extended, options.searchWindow(), options);
            double divergence = branch.score().meanKullbackLeibler();
            if (plan.containsKey(branch.layer()) || saved <= 0) {
                continue;
            }
            double cost = (divergence - kl) / saved;
            if (cost < bestCost || cost == bestCost && saved > bestSaved) {
                best = fitted;
                bestCost = cost;
                bestSaved = saved;
            }
        }
        return best;
    }

    private static long cacheBytes(PlanPass pass, Map<Integer, LayerKind> plan, SlidingWindowLayer window, PlanOptions options) {
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

    private static List<PlanReport.Candidate> candidates(List<PlanPass.Branch> branches) {
        return branches.stream().map(branch -> new PlanReport.Candidate(branch.layer(), branch.kind().toString(), branch.score().meanKullbackLeibler(),
                branch.score().longRange().bundleNll())).toList();
    }

    /** The budget as the command line gives it. */
    static String describe(PlanBudget budget) {
        return switch (budget) {
            case PlanBudget.ConvertedLayers linear -> "--gla " + linear.count();
            case PlanBudget.MaxCache cache -> "--max-cache " + cache.bytes();
            case PlanBudget.MaxDivergence divergence -> "--max-kl " + divergence.meanKullbackLeibler();
        };
    }
}
