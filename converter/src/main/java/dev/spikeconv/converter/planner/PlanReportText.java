package dev.spikeconv.converter.planner;

import dev.spikeconv.converter.inspect.ModelInspectionText;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** The plan report as readable tables for stdout: the layers' scores, the search, the confirmed plan and its cost. */
public final class PlanReportText {
    private PlanReportText() {}

    public static String render(PlanReport report) {
        StringBuilder text = new StringBuilder();
        text.append(String.format(Locale.ROOT, "plan for %s, budget %s: fitted on %d tokens, scored on the next %d (mean KL to the dense model)%n",
                report.source(), report.budget(), report.fittingTokens(), report.scoringTokens()));
        String local = "local/" + report.localWindow() + (report.sinks() > 0 ? "+" + report.sinks() : "");
        List<String> kinds = report.layers().getFirst().alone().stream().map(PlanReport.Candidate::kind).toList();
        boolean severalKinds = kinds.size() > 1;
        text.append(String.format(Locale.ROOT, "%n%-6s %12s %12s", "layer", local, "least head"));
        kinds.forEach(kind -> text.append(String.format(Locale.ROOT, " %16s", severalKinds ? "KL " + kind : "KL alone")));
        text.append(String.format(Locale.ROOT, "  %s%n", "kind"));
        for (PlanReport.LayerScore layer : report.layers()) {
            text.append(String.format(Locale.ROOT, "%-6d %12.3f %12.3f", layer.layer(), layer.locality(), layer.leastLocalHead()));
            layer.alone().forEach(candidate -> text.append(String.format(Locale.ROOT, " %16.4f", candidate.meanKullbackLeibler())));
            text.append(String.format(Locale.ROOT, "  %s%n", layer.kind()));
        }
        PlanReport.LongRange longRange = report.longRange();
        String far = "NLL>" + report.localWindow();
        text.append(String.format(Locale.ROOT, "%n%s: NLL of the %d scoring tokens whose previous occurrence lies only beyond %d tokens back "
                + "(dense %.3f): the memory a plan keeps%n", far, longRange.positions(), report.localWindow(), longRange.denseNll()));
        text.append(String.format(Locale.ROOT, "%n%-5s %-16s %-16s %10s %9s %12s  %s%n", "step", "converted", "added", "KL", far, "cache",
                "candidates (KL with the layer added)"));
        for (PlanReport.SearchStep step : report.steps()) {
            String layers = step.convertedLayers().isEmpty() ? "-" : step.convertedLayers().stream().map(String::valueOf).collect(Collectors.joining(","));
            String candidates = step.candidates().stream().map(candidate -> String.format(Locale.ROOT, "%d%s: %.4f", candidate.layer(),
                    severalKinds ? " " + candidate.kind() : "", candidate.meanKullbackLeibler())).collect(Collectors.joining(", "));
            String added = step.added() < 0 ? "-" : step.added() + " " + step.addedKind();
            text.append(String.format(Locale.ROOT, "%-5d %-16s %-16s %10.4f %9.3f %12s  %s%n", step.step(), layers, added, step.meanKullbackLeibler(),
                    step.longRangeNll(), ModelInspectionText.humanBytes(step.cacheBytes()), candidates));
        }
        for (PlanReport.WindowTrial trial : report.windows()) {
            text.append(String.format(Locale.ROOT, "%-13s KL %.4f, %s %.3f, cache %s%s%n", trial.window(), trial.meanKullbackLeibler(), far,
                    trial.longRangeNll(), ModelInspectionText.humanBytes(trial.cacheBytes()), trial.kept() ? ": kept" : ""));
        }
        text.append(System.lineSeparator());
        reasons(report).forEach(reason -> text.append(reason).append(System.lineSeparator()));
        PlanReport.Confirmation confirmed = report.confirmed();
        text.append(String.format(Locale.ROOT, "%nplan      %s%n", report.plan()));
        text.append(String.format(Locale.ROOT, "confirmed KL %.4f and %s %.3f (dense %.3f) with every converted layer fitted afresh (as calibrate fits them); "
                + "cache %s per sequence at context %d (bfloat16)%n", confirmed.meanKullbackLeibler(), far, confirmed.longRangeNll(), longRange.denseNll(),
                ModelInspectionText.humanBytes(confirmed.cacheBytes()), report.context()));
        PlanReport.Cost cost = report.cost();
        text.append(String.format(Locale.ROOT, "cost      %d layer fits in %d passes, %.1f s; the confirming pass alone %.1f s (%.1fx)%n", cost.layerFits(),
                cost.passes(), cost.nanos() / 1e9, cost.confirmingNanos() / 1e9, (double) cost.nanos() / Math.max(1, cost.confirmingNanos())));
        return text.toString();
    }

    /**
     * Why each layer got its kind, from the numbers: where its KL alone ranks, and what adding it read at the last step that
     * measured it. A layer that stays a window is explained by the KL it would have cost.
     */
    static List<String> reasons(PlanReport report) {
        List<Integer> ranking = report.layers().stream().sorted(Comparator.comparingDouble(PlanReport.LayerScore::aloneKullbackLeibler))
                .map(PlanReport.LayerScore::layer).toList();
        List<String> reasons = new ArrayList<>();
        for (PlanReport.LayerScore layer : report.layers()) {
            String rank = String.format(Locale.ROOT, "KL %.4f alone (rank %d of %d)", layer.aloneKullbackLeibler(), ranking.indexOf(layer.layer()) + 1,
                    ranking.size());
            PlanReport.SearchStep added = report.steps().stream().filter(step -> step.added() == layer.layer()).findFirst().orElse(null);
            if (added != null) {
                reasons.add(String.format(Locale.ROOT, "layer %d becomes %s at step %d: %s; the plan then read KL %.4f", layer.layer(), added.addedKind(),
                        added.step(), rank, added.meanKullbackLeibler()));
                continue;
            }
            String last = "";
            for (PlanReport.SearchStep step : report.steps()) {
                PlanReport.Candidate best = step.candidates().stream().filter(candidate -> candidate.layer() == layer.layer())
                        .min(Comparator.comparingDouble(PlanReport.Candidate::meanKullbackLeibler)).orElse(null);
                if (best != null) {
                    last = String.format(Locale.ROOT, "; as a candidate at step %d it would have read %.4f (%s)", step.step(), best.meanKullbackLeibler(),
                            best.kind());
                }
            }
            reasons.add(String.format(Locale.ROOT, "layer %d stays %s: %s%s", layer.layer(), layer.kind(), rank, last));
        }
        return reasons;
    }
}
