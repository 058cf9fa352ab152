package dev.spikeconv.converter.planner;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.layers.GatedLinearLayer;
import dev.spikeconv.converter.layers.HybridLayer;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.converter.transfer.TransferOptions;
import java.nio.file.Path;
import java.util.List;

/**
 * What {@code spikeconv plan} measures and within which budget.
 *
 * @param source            the dense checkpoint
 * @param data              text or token ids: the first {@code fitTokens} fit GLA layers, the next {@code evaluationTokens} score plans
 * @param tokenizer         overrides the source's own tokenizer (null: the source's)
 * @param sequenceLength    tokens per sequence
 * @param kinds             what a converted layer may become: {@code gla}, and hybrids ({@code hybrid/W+S}); the search weighs each
 *                          branch's KL against the cache it saves
 * @param window            the sliding window of every layer that does not become GLA, while the search runs
 * @param windows           windows (with their sinks) a KL target may choose after the search, those with a smaller cache tried smallest first
 * @param sinks             that window's sink positions
 * @param localWindow       the window of the zero-cost locality score: attention mass inside it says how local a layer is
 * @param context           the context at which caches are sized
 * @param candidatesPerStep layers re-measured at each greedy step after the first (the rest keep their last score)
 */
public record PlanOptions(Path source, Path data, Path tokenizer, int fitTokens, int evaluationTokens, int sequenceLength, PlanBudget budget, List<LayerKind> kinds,
        int window, List<SlidingWindowLayer> windows, int sinks, int localWindow, long context, int candidatesPerStep, TransferOptions transfer) {
    public PlanOptions {
        kinds = List.copyOf(kinds);
        if (kinds.isEmpty() || kinds.stream().anyMatch(kind -> !(kind instanceof GatedLinearLayer || kind instanceof HybridLayer))) {
            throw new InvalidOptionException("kinds", "a converted layer becomes gla or hybrid/W+S, found " + kinds);
        }
        if (kinds.stream().distinct().count() < kinds.size()) {
            throw new InvalidOptionException("kinds", "names a kind twice: " + kinds);
        }
        if (windows.stream().anyMatch(candidate -> candidate.window() < 1 || candidate.sinks() < 0)) {
            throw new InvalidOptionException("windows", "need windows of at least 1 and sinks of at least 0, found " + windows);
        }
        if (fitTokens < 1 || evaluationTokens < 1) {
            throw new InvalidOptionException(fitTokens < 1 ? "tokens" : "eval-tokens", "must be at least 1");
        }
        if (sequenceLength < 2) {
            throw new InvalidOptionException("seq-len", "must be at least 2, found " + sequenceLength);
        }
        if (window < 1 || localWindow < 1) {
            throw new InvalidOptionException(window < 1 ? "window" : "local-window", "must be at least 1");
        }
        windows = List.copyOf(windows);
        if (sinks < 0) {
            throw new InvalidOptionException("sinks", "must be at least 0, found " + sinks);
        }
        if (context < 1) {
            throw new InvalidOptionException("context", "must be at least 1, found " + context);
        }
        if (candidatesPerStep < 1) {
            throw new InvalidOptionException("candidates", "must be at least 1, found " + candidatesPerStep);
        }
        if (!transfer.enabled()) {
            throw new InvalidOptionException("transfer", "plan scores fitted GLA layers: choose a transfer with at least one step");
        }
    }

    /** The window every layer that does not become GLA keeps while the search runs. */
    public SlidingWindowLayer searchWindow() {
        return new SlidingWindowLayer(window, sinks);
    }
}
