package dev.spikeconv.converter.planner;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@code spikeconv plan} measured and chose.
 *
 * @param plan      the chosen plan in {@code convert --plan}'s explicit syntax
 * @param layers    every layer's scores and chosen kind
 * @param window    the window of the layers that stay softmax, after any smaller window tried under a KL target, and its sinks
 * @param steps     the greedy search, step 0 being the all-sliding-window start
 * @param windows   smaller windows tried under a KL target, smallest first, until one met it
 * @param longRange the scoring tokens whose previous occurrence lies only beyond the local window, and the dense model's NLL of them
 * @param confirmed the chosen plan fitted afresh, every GLA layer in turn as calibrate fits them
 */
public record PlanReport(Path source, String budget, int fittingTokens, int scoringTokens, int window, int sinks, int localWindow, long context,
        String plan, List<LayerScore> layers, List<SearchStep> steps, List<WindowTrial> windows, LongRange longRange,
        Confirmation confirmed, Cost cost) {
    public PlanReport {
        layers = List.copyOf(layers);
        steps = List.copyOf(steps);
        windows = List.copyOf(windows);
    }

    /**
     * One layer: the zero-cost scores (mean and least share of attention inside sinks + the local window, over heads), the
     * measured ones (the layer alone converted to each candidate kind, fitted), and the kind the plan gives it.
     */
    public record LayerScore(int layer, double locality, double leastLocalHead, List<Candidate> alone, String kind) {
        public LayerScore {
            alone = List.copyOf(alone);
        }

        /** The least KL of the layer alone converted, over the candidate kinds. */
        public double aloneKullbackLeibler() {
            return alone.stream().mapToDouble(Candidate::meanKullbackLeibler).min().orElse(Double.NaN);
        }
    }

    /** A candidate measured at a step: the KL of the step's plan with {@code layer} made {@code kind}, and its long-range NLL. */
    public record Candidate(int layer, String kind, double meanKullbackLeibler, double longRangeNll) {}

    /**
     * Verify's long-range split on the scoring tokens: how many recur only beyond the local window (their previous occurrence
     * is further back), and the dense model's mean NLL of them; each plan's NLL of the same tokens says what memory it kept.
     */
    public record LongRange(int positions, double denseNll) {}

    /**
     * One greedy step: the plan's converted layers after it, the layer it converted (-1 at step 0) and to which kind, the
     * plan's measured KL (its layers kept as fitted when added) and long-range NLL, its cache at the context, and the
     * candidates measured to choose it.
     */
    public record SearchStep(int step, List<Integer> convertedLayers, int added, String addedKind, double meanKullbackLeibler, double longRangeNll,
            long cacheBytes, List<Candidate> candidates) {
        public SearchStep {
            convertedLayers = List.copyOf(convertedLayers);
            candidates = List.copyOf(candidates);
        }
    }

    /**
     * The plan's GLA layers with every other layer {@code window} ({@code swa/W+S}), fitted afresh: its mean KL, long-range NLL
     * and cache, and whether it met the target and was kept.
     */
    public record WindowTrial(String window, double meanKullbackLeibler, double longRangeNll, long cacheBytes, boolean kept) {}

    /** The chosen plan after a fresh fit of every GLA layer: mean KL, long-range NLL, and its cache of one sequence at the context. */
    public record Confirmation(double meanKullbackLeibler, double longRangeNll, long cacheBytes) {}

    /**
     * What the search cost: layer fits in all, passes over the model, its time, and the time of the confirming pass alone (the
     * work of calibrate's attention transfer on this plan), which the search's time is best read against.
     */
    public record Cost(int layerFits, int passes, long nanos, long confirmingNanos) {}
}
