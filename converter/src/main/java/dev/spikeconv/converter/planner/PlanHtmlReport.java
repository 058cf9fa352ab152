package dev.spikeconv.converter.planner;

import dev.spikeconv.converter.inspect.ModelInspectionText;
import dev.spikeconv.converter.report.SvgCharts;
import dev.spikeconv.converter.report.XmlText;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The plan report as one self-contained HTML page: KL against cache for every plan the search measured (the trade-off a user
 * chooses from), the layers' zero-cost and measured scores side by side, and the search step by step.
 */
public final class PlanHtmlReport {
    private static final double MEBIBYTE = 1 << 20;

    private PlanHtmlReport() {}

    public static String render(PlanReport report) {
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>spikeconv plan</title>\n")
                .append("<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}")
                .append(".gla{color:#2a7;font-weight:bold}svg.chart{display:block;margin:18px 0;border:1px solid #eee;width:100%;max-width:1400px;height:auto}</style></head><body>\n");
        html.append("<h1>spikeconv plan</h1>\n<p>").append(XmlText.escape(report.source().toString())).append(", budget <code>")
                .append(XmlText.escape(report.budget())).append(String.format(Locale.ROOT, "</code>: fitted on %d tokens, scored on the next %d by the mean KL "
                        + "to the dense model. Layers that do not become GLA keep a sliding window of %d%s.</p>%n", report.fittingTokens(), report.scoringTokens(),
                        report.window(), report.sinks() > 0 ? " + " + report.sinks() + " sinks" : ""));
        html.append("<p>Plan: <code>").append(XmlText.escape(report.plan())).append(String.format(Locale.ROOT, "</code>, confirmed KL %.4f with every GLA "
                + "layer fitted afresh; cache %s per sequence at context %d. Long-range memory: the %d scoring tokens whose previous occurrence lies only "
                + "beyond %d tokens back read NLL %.3f (dense %.3f).</p>%n", report.confirmed().meanKullbackLeibler(),
                ModelInspectionText.humanBytes(report.confirmed().cacheBytes()), report.context(), report.longRange().positions(), report.localWindow(),
                report.confirmed().longRangeNll(), report.longRange().denseNll()));
        html.append("<ul>\n");
        PlanReportText.reasons(report).forEach(reason -> html.append("<li>").append(XmlText.escape(reason)).append("</li>\n"));
        html.append("</ul>\n<p>KL against the cache of one sequence at context ").append(report.context())
                .append(": grey, every candidate measured; blue, the path the search took; green, the chosen plan fitted afresh.</p>\n");
        html.append(tradeOff(report));
        List<String> labels = new ArrayList<>();
        double[] locality = new double[report.layers().size()];
        double[] leastHead = new double[report.layers().size()];
        List<String> kinds = report.layers().getFirst().alone().stream().map(PlanReport.Candidate::kind).toList();
        double[][] alone = new double[kinds.size()][report.layers().size()];
        double maximum = 0;
        for (PlanReport.LayerScore layer : report.layers()) {
            labels.add(String.valueOf(layer.layer()));
            locality[layer.layer()] = layer.locality();
            leastHead[layer.layer()] = layer.leastLocalHead();
            for (PlanReport.Candidate candidate : layer.alone()) {
                alone[kinds.indexOf(candidate.kind())][layer.layer()] = candidate.meanKullbackLeibler();
                maximum = Math.max(maximum, candidate.meanKullbackLeibler());
            }
        }
        String[] colors = {"#d62728", "#ff7f0e", "#9467bd", "#8c564b"};
        List<SvgCharts.Series> aloneSeries = new ArrayList<>();
        for (int kind = 0; kind < kinds.size(); kind++) {
            aloneSeries.add(new SvgCharts.Series("KL alone as " + kinds.get(kind), alone[kind], colors[kind % colors.length]));
        }
        html.append(SvgCharts.bars("alone", "KL with the layer alone converted (measured: lower converts better)", labels, aloneSeries,
                maximum > 0 ? maximum * 1.05 : 1));
        html.append(SvgCharts.bars("locality", "share of attention inside sinks + " + report.localWindow() + " recent keys (zero-cost: higher is more local)",
                labels, List.of(new SvgCharts.Series("mean over heads", locality, "#1f77b4"), new SvgCharts.Series("least local head", leastHead, "#9ecae1")), 1));
        html.append("<h2>Layers</h2>\n<table><tr><th>layer</th><th>locality (mean)</th><th>least local head</th><th>KL alone (least over the kinds)</th><th>kind</th></tr>\n");
        for (PlanReport.LayerScore layer : report.layers()) {
            boolean linear = !layer.kind().startsWith("swa");
            html.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%.3f</td><td>%.3f</td><td>%.4f</td><td%s>%s</td></tr>%n", layer.layer(), layer.locality(),
                    layer.leastLocalHead(), layer.aloneKullbackLeibler(), linear ? " class=\"gla\"" : "", XmlText.escape(layer.kind())));
        }
        html.append("</table>\n<h2>Search</h2>\n<table><tr><th>step</th><th>converted</th><th>added</th><th>KL</th><th>long-range NLL</th><th>cache</th><th>candidates (KL with the layer added)</th></tr>\n");
        for (PlanReport.SearchStep step : report.steps()) {
            html.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%s</td><td>%s</td><td>%.4f</td><td>%.3f</td><td>%s</td><td>%s</td></tr>%n", step.step(),
                    step.convertedLayers().isEmpty() ? "-" : step.convertedLayers().stream().map(String::valueOf).collect(Collectors.joining(",")),
                    step.added() < 0 ? "-" : step.added() + " " + XmlText.escape(step.addedKind()), step.meanKullbackLeibler(), step.longRangeNll(),
                    ModelInspectionText.humanBytes(step.cacheBytes()),
                    step.candidates().stream().map(candidate -> String.format(Locale.ROOT, "%d %s: %.4f", candidate.layer(), XmlText.escape(candidate.kind()),
                            candidate.meanKullbackLeibler()))
                            .collect(Collectors.joining(", "))));
        }
        html.append("</table>\n");
        if (!report.windows().isEmpty()) {
            html.append("<h2>Smaller windows</h2>\n<table><tr><th>window</th><th>KL</th><th>long-range NLL</th><th>cache</th></tr>\n");
            for (PlanReport.WindowTrial trial : report.windows()) {
                html.append(String.format(Locale.ROOT, "<tr><td>%s%s</td><td>%.4f</td><td>%.3f</td><td>%s</td></tr>%n", XmlText.escape(trial.window()),
                        trial.kept() ? " (kept)" : "", trial.meanKullbackLeibler(), trial.longRangeNll(), ModelInspectionText.humanBytes(trial.cacheBytes())));
            }
            html.append("</table>\n");
        }
        PlanReport.Cost cost = report.cost();
        html.append(String.format(Locale.ROOT, "<p>Cost: %d layer fits in %d passes, %.1f s; the confirming pass alone %.1f s.</p>%n</body></html>%n",
                cost.layerFits(), cost.passes(), cost.nanos() / 1e9, cost.confirmingNanos() / 1e9));
        return html.toString();
    }

    /** Every plan measured: each step's candidates at the cache their plan would have, and the chosen path through them. */
    private static String tradeOff(PlanReport report) {
        List<SvgCharts.Point> tried = new ArrayList<>();
        List<SvgCharts.Point> chosen = new ArrayList<>();
        for (PlanReport.SearchStep step : report.steps()) {
            chosen.add(new SvgCharts.Point(step.cacheBytes() / MEBIBYTE, step.meanKullbackLeibler(), String.format(Locale.ROOT, "step %d: converted %s, KL %.4f, %s",
                    step.step(), step.convertedLayers(), step.meanKullbackLeibler(), ModelInspectionText.humanBytes(step.cacheBytes()))));
            for (PlanReport.Candidate candidate : step.candidates()) {
                tried.add(new SvgCharts.Point(step.cacheBytes() / MEBIBYTE, candidate.meanKullbackLeibler(), String.format(Locale.ROOT,
                        "step %d candidate: layer %d as %s, KL %.4f", step.step(), candidate.layer(), candidate.kind(), candidate.meanKullbackLeibler())));
            }
        }
        for (PlanReport.WindowTrial trial : report.windows()) {
            tried.add(new SvgCharts.Point(trial.cacheBytes() / MEBIBYTE, trial.meanKullbackLeibler(), String.format(Locale.ROOT, "%s: KL %.4f",
                    trial.window(), trial.meanKullbackLeibler())));
        }
        SvgCharts.Point result = new SvgCharts.Point(report.confirmed().cacheBytes() / MEBIBYTE, report.confirmed().meanKullbackLeibler(),
                String.format(Locale.ROOT, "the plan fitted afresh: KL %.4f", report.confirmed().meanKullbackLeibler()));
        return SvgCharts.scatter("trade-off", "KL against cache per sequence", "MiB", tried, chosen, List.of(result));
    }
}
