package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.onnx.RuntimePlatform;
import dev.spikeconv.converter.spiking.SpikeStatistics;
import java.util.List;
import java.util.SequencedMap;

/**
 * Everything {@code verify} measured, and the goals it checked. {@code quantizationErrors}: per int8 tensor of the bundle,
 * {@code ‖w − ŵ‖ / ‖w‖} as convert (or calibrate, for a tensor it refitted) recorded it; empty when the bundle has none.
 */
public record VerifyReport(
        String bundle,
        String reference,
        int tokens,
        int sequenceLength,
        List<String> structureProblems,
        EngineAgreement engines,
        Distance distance,
        BeyondWindow beyondWindow,
        LongRange longRange,
        List<LayerReport> layers,
        Baseline baseline,
        Probes probes,
        SequencedMap<String, Double> quantizationErrors,
        Calibration calibration,
        List<SpikeStatistics> spikes,
        List<GoalResult> goals) {

    /**
     * ONNX Runtime against the Java reference on the bundle's first tokens (see {@link EngineAgreementCheck}).
     *
     * @param largestLogitDifference largest |Δ logit| with both engines on ONNX Runtime's spike counts
     * @param largestLogit           largest |logit| of ONNX Runtime's run, for scale
     * @param counts                 per spiking site, the counts of both engines from the same activations
     * @param freeRunningMeanKl      mean KL of the free-running spiking engines, when asked for; else null
     * @param platform               the CPU and ONNX Runtime that ran
     */
    public record EngineAgreement(int tokens, double largestLogitDifference, double largestLogit, List<SpikeCountAgreement> counts, Double freeRunningMeanKl,
            RuntimePlatform platform) {
        public long countValues() {
            return counts.stream().mapToLong(SpikeCountAgreement::values).sum();
        }

        public double identicalCountShare() {
            long values = countValues();
            return values == 0 ? 1 : (double) counts.stream().mapToLong(SpikeCountAgreement::identical).sum() / values;
        }

        public double largestEdgeDistance() {
            return counts.stream().mapToDouble(SpikeCountAgreement::largestEdgeDistance).max().orElse(0);
        }

        /** The site with the largest flip distance, or the least agreement; null without spiking sites. */
        public String worstSite() {
            return counts.stream().max(java.util.Comparator.comparingDouble(SpikeCountAgreement::largestEdgeDistance)
                    .thenComparing(java.util.Comparator.comparingDouble(SpikeCountAgreement::identicalShare).reversed()))
                    .map(SpikeCountAgreement::site).orElse(null);
        }
    }

    /** Next-token distributions of the bundle against the dense model, over every position. */
    public record Distance(double meanKl, double medianKl, double p90Kl, double p99Kl, double topOne, double referencePerplexity,
            double bundlePerplexity, double perplexityRatio, double meanTrueTokenProbabilityChange, double[] klPerPosition) {}

    /**
     * The prediction of each token by how far back it last occurred in its sequence: what a sliding window cannot see
     * and GLA is meant to carry. {@code horizon} is the bundle's smallest sliding window (64 without one);
     * {@code buckets} split by that distance (0–64, 64–256, 256–1k, 1k–4k, beyond), then the first occurrences.
     */
    public record LongRange(int horizon, int longestSequence, List<Bucket> buckets, Bucket withinHorizon, Bucket onlyBeyondHorizon, Bucket firstOccurrences) {
        public LongRange {
            buckets = List.copyOf(buckets);
        }

        /** Whether some sequence is longer than the horizon: otherwise a window sees everything and SWA equals softmax. */
        public boolean sequencesExceedHorizon() {
            return longestSequence > horizon;
        }
    }

    /** Positions of one kind, with both models' mean NLL of the true token and the mean KL there. */
    public record Bucket(String name, int positions, double referenceNll, double bundleNll, double meanKl) {
        /** Bundle NLL over dense NLL (NaN without positions). */
        public double nllRatio() {
            return positions == 0 ? Double.NaN : bundleNll / referenceNll;
        }
    }

    /** Perplexity over positions past the largest sliding window. */
    public record BeyondWindow(int window, int positions, double referencePerplexity, double bundlePerplexity) {
        public double ratio() {
            return bundlePerplexity / referencePerplexity;
        }
    }

    /**
     * One layer: hidden-state cosine to the dense model, each model's attention share of the residual update, and the
     * mean KL to the dense model with only this layer taken from the bundle (null when not measured).
     */
    public record LayerReport(int index, String attention, double cosine, double attentionShare, double referenceAttentionShare, boolean negligible,
            Double klAlone) {}

    /**
     * What the bundle was compared with besides the dense model ({@link VerifyBaseline}): its mean KL to the dense model,
     * its NLL on the tokens that recur only beyond the horizon, and whether the bundle's GLA layers beat it on the
     * baseline's own terms (KL for the bundle without their attention, long-range NLL for all SWA).
     */
    public record Baseline(VerifyBaseline kind, String model, double meanKl, Bucket onlyBeyondHorizon, boolean glaBetter) {}

    /**
     * The synthetic probe suite ({@link RetrievalProbes}): per kind and distance, the share of answers each model
     * predicts top-1; the bundle and baseline only run where the dense model reaches {@code passingAccuracy}. Null when
     * verify ran no probes.
     */
    public record Probes(int trials, double passingAccuracy, List<ProbeResult> results, List<String> notes) {
        public Probes {
            results = List.copyOf(results);
            notes = List.copyOf(notes);
        }
    }

    /** One kind at one distance: the dense model's accuracy, the bundle's and the baseline's (null when not run). */
    public record ProbeResult(ProbeKind kind, int distance, int answers, double referenceAccuracy, Double bundleAccuracy, Double baselineAccuracy) {
        /** Whether the dense model failed it, so the others did not run. */
        public boolean skipped() {
            return bundleAccuracy == null;
        }
    }

    /**
     * What the bundle's calibration.json says calibrate did: the method, the data and how many tokens, and per fitted
     * layer attention transfer's output error {@code ‖y − y_dense‖² / ‖y_dense‖²} on its held-out sequences before and after.
     * Null for a bundle never calibrated.
     */
    public record Calibration(String method, String data, int tokens, List<TransferFit> transfer) {
        public Calibration {
            transfer = List.copyOf(transfer);
        }
    }

    /** One layer's attention transfer: its output error before and after the fit. */
    public record TransferFit(int layer, double before, double after) {}

    public boolean passed() {
        return goals.stream().allMatch(GoalResult::passed);
    }

    public double totalSparsity() {
        return sparsity(spikes);
    }

    /** SpikingBrain's sparsity of all sites together: the share of silent slots of the coding window. */
    static double sparsity(List<SpikeStatistics> spikes) {
        long values = spikes.stream().mapToLong(SpikeStatistics::values).sum();
        double slots = spikes.stream().mapToDouble(statistics -> (double) statistics.values() * statistics.window()).sum();
        double events = spikes.stream().mapToDouble(SpikeStatistics::events).sum();
        return values == 0 ? 0 : 1 - events / slots;
    }

    public double totalSaturation() {
        long values = spikes.stream().mapToLong(SpikeStatistics::values).sum();
        double saturated = spikes.stream().mapToDouble(statistics -> statistics.saturation() * statistics.values()).sum();
        return values == 0 ? 0 : saturated / values;
    }

    public int totalSilentChannels() {
        return spikes.stream().mapToInt(SpikeStatistics::silentChannels).sum();
    }
}
