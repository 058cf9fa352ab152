package dev.spikeconv.converter.verify;

import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;
import java.util.stream.Collectors;

/** The readable summary {@code verify} prints. */
public final class VerifyReportText {
    private VerifyReportText() {}

    public static String render(VerifyReport report) {
        StringBuilder text = new StringBuilder();
        line(text, "bundle %s against %s, %d tokens in sequences of %d", report.bundle(), report.reference(), report.tokens(), report.sequenceLength());
        VerifyReport.Distance distance = report.distance();
        text.append('\n');
        line(text, "distance   KL mean %.4f  median %.4f  p90 %.4f  p99 %.4f  top-1 %.3f", distance.meanKl(), distance.medianKl(), distance.p90Kl(),
                distance.p99Kl(), distance.topOne());
        line(text, "perplexity %.3f (dense %.3f), ratio %.3f; true-token probability %+.4f", distance.bundlePerplexity(), distance.referencePerplexity(),
                distance.perplexityRatio(), distance.meanTrueTokenProbabilityChange());
        if (report.beyondWindow() != null) {
            VerifyReport.BeyondWindow beyond = report.beyondWindow();
            line(text, "past the window of %d: perplexity %.3f (dense %.3f) over %d positions", beyond.window(), beyond.bundlePerplexity(),
                    beyond.referencePerplexity(), beyond.positions());
        }
        VerifyReport.LongRange longRange = report.longRange();
        line(text, "recurrence NLL of tokens by how far back they last occurred (bundle / dense, KL):");
        for (VerifyReport.Bucket bucket : longRange.buckets()) {
            bucket(text, bucket);
        }
        bucket(text, longRange.firstOccurrences());
        bucket(text, longRange.withinHorizon());
        bucket(text, longRange.onlyBeyondHorizon());
        VerifyReport.EngineAgreement engines = report.engines();
        line(text, "engines    on %d tokens: logits %.2e apart on the same spike counts%s", engines.tokens(), engines.largestLogitDifference(),
                engines.counts().isEmpty() ? ""
                        : String.format(Locale.ROOT, "; counts %.6f identical, largest flip %.1e from its edge", engines.identicalCountShare(),
                                engines.largestEdgeDistance()));
        line(text, "           %s", engines.platform().summary());
        if (report.baseline() != null) {
            VerifyReport.Baseline baseline = report.baseline();
            switch (baseline.kind()) {
                case WITHOUT_GLA_ATTENTION -> line(text, "baseline   without GLA attention: KL %.4f -> the linear branch is %s", baseline.meanKl(),
                        baseline.glaBetter() ? "useful" : "USELESS (the model ignores it; calibrate)");
                case ALL_SWA -> line(text, "baseline   all SWA (%s): KL %.4f, %s", baseline.model(), baseline.meanKl(),
                        baseline.onlyBeyondHorizon().positions() == 0 ? "no token recurs only beyond the window: evaluate longer sequences"
                                : String.format(Locale.ROOT, "NLL only beyond the window %.3f -> the GLA layers %s memory past it",
                                        baseline.onlyBeyondHorizon().bundleNll(), baseline.glaBetter() ? "add" : "do not add"));
            }
        }
        if (report.probes() != null) {
            probes(text, report.probes(), report.baseline() != null);
        }
        if (report.calibration() != null) {
            VerifyReport.Calibration calibration = report.calibration();
            line(text, "calibrated %s on %d tokens of %s%s", calibration.method(), calibration.tokens(), calibration.data(), calibration.transfer().isEmpty() ? ""
                    : "; transfer error before -> after: " + calibration.transfer().stream().map(fit -> String.format(Locale.ROOT, "layer %d %.4f -> %.4f",
                            fit.layer(), fit.before(), fit.after())).collect(Collectors.joining(", ")));
        }
        if (!report.quantizationErrors().isEmpty()) {
            quantization(text, report.quantizationErrors());
        }
        if (!report.spikes().isEmpty()) {
            line(text, "spikes     sparsity %.4f, saturation %.5f, silent channels %d", report.totalSparsity(), report.totalSaturation(), report.totalSilentChannels());
        }
        text.append('\n');
        boolean klAlone = report.layers().stream().anyMatch(layer -> layer.klAlone() != null);
        line(text, "%-5s %-12s %8s %10s %10s%s", "layer", "attention", "cosine", "share", "dense", klAlone ? "   KL alone" : "");
        for (VerifyReport.LayerReport layer : report.layers()) {
            line(text, "%-5d %-12s %8.4f %10.4f %10.4f%s%s", layer.index(), layer.attention(), layer.cosine(), layer.attentionShare(), layer.referenceAttentionShare(),
                    layer.klAlone() == null ? "" : String.format(Locale.ROOT, " %10.4f", layer.klAlone()), layer.negligible() ? "  negligible GLA contribution" : "");
        }
        text.append('\n');
        for (GoalResult goal : report.goals()) {
            line(text, "%-4s %-26s %s", goal.passed() ? "ok" : "FAIL", goal.name(), goal.detail());
        }
        long failed = report.goals().stream().filter(goal -> !goal.passed()).count();
        line(text, failed == 0 ? "all %d goals met" : "%d of %d goals missed", failed == 0 ? report.goals().size() : failed, report.goals().size());
        // Several goals often miss for one reason: each next step once, in the order of the goals.
        report.goals().stream().map(GoalResult::nextStep).filter(java.util.Objects::nonNull).distinct().forEach(step -> line(text, "next: %s", step));
        return text.toString();
    }

    /** The mean relative error of the int8 tensors and the three worst. */
    private static void quantization(StringBuilder text, SequencedMap<String, Double> errors) {
        double mean = errors.values().stream().mapToDouble(Double::doubleValue).average().orElse(0);
        String worst = errors.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(3)
                .map(entry -> String.format(Locale.ROOT, "%s %.4f", entry.getKey(), entry.getValue())).collect(Collectors.joining(", "));
        line(text, "int8       %d tensors, relative error mean %.4f; largest %s", errors.size(), mean, worst);
    }

    private static void probes(StringBuilder text, VerifyReport.Probes probes, boolean baseline) {
        line(text, "probes     top-1 answers, %d trials per distance (bundle / dense%s):", probes.trials(), baseline ? " / baseline" : "");
        for (VerifyReport.ProbeResult result : probes.results()) {
            if (result.skipped()) {
                line(text, "           %-10s at %6d tokens  dense %.3f: skipped, the dense model fails it", result.kind().id(), result.distance(),
                        result.referenceAccuracy());
            }
            else {
                line(text, "           %-10s at %6d tokens  %.3f / %.3f%s", result.kind().id(), result.distance(), result.bundleAccuracy(), result.referenceAccuracy(),
                        result.baselineAccuracy() == null ? "" : String.format(Locale.ROOT, " / %.3f", result.baselineAccuracy()));
            }
        }
        probes.notes().forEach(note -> line(text, "           %s", note));
    }

    private static void bucket(StringBuilder text, VerifyReport.Bucket bucket) {
        if (bucket.positions() == 0) {
            line(text, "           %-18s %7d positions", bucket.name(), 0);
            return;
        }
        line(text, "           %-18s %7d positions  NLL %.3f / %.3f (ratio %.3f)  KL %.4f", bucket.name(), bucket.positions(), bucket.bundleNll(),
                bucket.referenceNll(), bucket.nllRatio(), bucket.meanKl());
    }

    private static void line(StringBuilder text, String pattern, Object... values) {
        text.append(String.format(Locale.ROOT, pattern, values)).append('\n');
    }
}
