package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.onnx.RuntimePlatform;
import dev.spikeconv.converter.report.SvgCharts;
import dev.spikeconv.converter.report.XmlText;
import dev.spikeconv.converter.spiking.SpikeStatistics;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --html FILE.html}: one self-contained page (no scripts, no network) with the goals, their next steps and
 * charts and tables of where the distance comes from: KL per position, NLL by recurrence distance, the probes, per layer
 * the hidden-state cosine, attention share, KL alone and spike sparsity, spikes and quantization error per site, and
 * what calibrate did.
 */
public final class VerifyHtmlReport {
    /** A layer's weight by its stored name: layer index, then the projection (the last part before {@code .weight}). */
    private static final Pattern LAYER_WEIGHT = Pattern.compile("^model\\.layers\\.(\\d+)\\.(?:[a-z_]+\\.)*([a-z_0-9]+)\\.weight$");

    private VerifyHtmlReport() {}

    public static String render(VerifyReport report) {
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>spikeconv verify</title>\n")
                .append("<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}")
                .append(".ok{color:#2a7}.fail{color:#c33;font-weight:bold}svg.chart{display:block;margin:18px 0;border:1px solid #eee;width:100%;max-width:1400px;height:auto}</style></head><body>\n");
        html.append("<h1>spikeconv verify</h1>\n<p>").append(escape(report.bundle())).append(" against ").append(escape(report.reference()))
                .append(String.format(Locale.ROOT, ", %d tokens in sequences of %d.</p>%n", report.tokens(), report.sequenceLength()));
        long failed = report.goals().stream().filter(goal -> !goal.passed()).count();
        html.append("<h2 id=\"verdict\" class=\"").append(failed == 0 ? "ok\">All " + report.goals().size() + " goals met" : "fail\">" + failed + " of "
                + report.goals().size() + " goals missed").append("</h2>\n<table id=\"goals\"><tr><th>goal</th><th>result</th><th>detail</th></tr>\n");
        for (GoalResult goal : report.goals()) {
            html.append("<tr><td>").append(escape(goal.name())).append("</td><td class=\"").append(goal.passed() ? "ok\">met" : "fail\">missed")
                    .append("</td><td>").append(escape(goal.detail()))
                    .append(goal.nextStep() == null ? "" : "<br><strong>next:</strong> " + escape(goal.nextStep())).append("</td></tr>\n");
        }
        html.append("</table>\n");
        VerifyReport.EngineAgreement engines = report.engines();
        html.append("<h2>Engines</h2>\n<p id=\"engines\">").append(escape(String.format(Locale.ROOT,
                "ONNX Runtime against the Java reference on %d tokens: largest logit difference %.2e with both on the same spike counts%s.",
                engines.tokens(), engines.largestLogitDifference(), engines.counts().isEmpty() ? ""
                        : String.format(Locale.ROOT, "; spike counts from the same activations %.6f identical, largest flip %.1e counts from its rounding edge",
                                engines.identicalCountShare(), engines.largestEdgeDistance()))))
                .append("<br>Ran on ").append(escape(engines.platform().summary())).append("; integer products: ").append(escape(RuntimePlatform.INTEGER_PRODUCTS))
                .append(".</p>\n");
        VerifyReport.Distance distance = report.distance();
        html.append("<h2>Distance</h2>\n<table id=\"distance\"><tr><th>KL mean</th><th>median</th><th>p90</th><th>p99</th><th>top-1</th>"
                + "<th>perplexity</th><th>dense</th><th>ratio</th></tr>\n");
        html.append(String.format(Locale.ROOT, "<tr><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td></tr>%n",
                distance.meanKl(), distance.medianKl(), distance.p90Kl(), distance.p99Kl(), distance.topOne(), distance.bundlePerplexity(),
                distance.referencePerplexity(), distance.perplexityRatio())).append("</table>\n");
        double[] kl = distance.klPerPosition();
        html.append(SvgCharts.line("kl-per-position", "KL(dense || bundle) per position", kl, Math.max(8, kl.length / 64)));
        // NLL by how far back the predicted token last occurred: what a window loses and GLA should carry.
        List<VerifyReport.Bucket> recurrence = new ArrayList<>(report.longRange().buckets());
        recurrence.add(report.longRange().firstOccurrences());
        recurrence.removeIf(bucket -> bucket.positions() == 0);
        if (!recurrence.isEmpty()) {
            List<String> bucketLabels = recurrence.stream().map(bucket -> bucket.name() + " (" + bucket.positions() + ")").toList();
            double[] bundleNll = recurrence.stream().mapToDouble(VerifyReport.Bucket::bundleNll).toArray();
            double[] referenceNll = recurrence.stream().mapToDouble(VerifyReport.Bucket::referenceNll).toArray();
            double top = Math.max(java.util.Arrays.stream(bundleNll).max().orElse(1), java.util.Arrays.stream(referenceNll).max().orElse(1)) * 1.1;
            html.append(SvgCharts.bars("recurrence-nll", "NLL of the true token by how far back it last occurred (horizon "
                    + report.longRange().horizon() + ")", bucketLabels, List.of(new SvgCharts.Series("bundle", bundleNll, "#d62728"),
                            new SvgCharts.Series("dense", referenceNll, "#7f7f7f")), top));
        }
        if (report.probes() != null) {
            html.append(probes(report.probes()));
        }
        List<String> labels = new ArrayList<>();
        double[] cosine = new double[report.layers().size()];
        double[] share = new double[report.layers().size()];
        double[] referenceShare = new double[report.layers().size()];
        for (int i = 0; i < report.layers().size(); i++) {
            VerifyReport.LayerReport layer = report.layers().get(i);
            labels.add(layer.index() + " " + layer.attention());
            cosine[i] = layer.cosine();
            share[i] = layer.attentionShare();
            referenceShare[i] = layer.referenceAttentionShare();
        }
        // Cosines differ in their third or fourth digit: the axis starts just below the lowest.
        html.append(SvgCharts.bars("hidden-cosine", "Hidden-state cosine to the dense model, per layer", labels,
                List.of(new SvgCharts.Series("cosine", cosine, "#1f77b4")), fittedBottom(cosine, 1), 1));
        html.append(SvgCharts.bars("attention-share", "Attention branch share of the residual update, per layer", labels,
                List.of(new SvgCharts.Series("bundle", share, "#ff7f0e"), new SvgCharts.Series("dense", referenceShare, "#7f7f7f")), 1));
        if (report.layers().stream().allMatch(layer -> layer.klAlone() != null)) {
            double[] klAlone = report.layers().stream().mapToDouble(VerifyReport.LayerReport::klAlone).toArray();
            double top = java.util.Arrays.stream(klAlone).max().orElse(0);
            html.append(SvgCharts.bars("kl-alone", String.format(Locale.ROOT, "KL to the dense model with only this layer converted (all together: %.4f)",
                    distance.meanKl()), labels, List.of(new SvgCharts.Series("KL alone", klAlone, "#d62728")), top > 0 ? top * 1.1 : 1));
        }
        if (!report.spikes().isEmpty()) {
            Map<String, double[]> perLayer = new LinkedHashMap<>();
            for (SpikeStatistics site : report.spikes()) {
                String layer = site.site().replaceAll("^model\\.layers\\.(\\d+)\\..*$", "$1");
                double[] sum = perLayer.computeIfAbsent(layer, key -> new double[2]);
                sum[0] += site.sparsity();
                sum[1]++;
            }
            double[] sparsity = perLayer.values().stream().mapToDouble(sum -> sum[0] / sum[1]).toArray();
            html.append(SvgCharts.bars("spike-sparsity", "Spike sparsity per layer (share of silent slots)", new ArrayList<>(perLayer.keySet()),
                    List.of(new SvgCharts.Series("sparsity", sparsity, "#2ca02c")), fittedBottom(sparsity, 1), 1));
        }
        if (!report.spikes().isEmpty()) {
            html.append(spikeHeatMap(report.spikes()));
        }
        if (!report.quantizationErrors().isEmpty()) {
            html.append(quantizationHeatMap(report.quantizationErrors()));
        }
        Map<Integer, VerifyReport.TransferFit> fits = new LinkedHashMap<>();
        if (report.calibration() != null) {
            report.calibration().transfer().forEach(fit -> fits.put(fit.layer(), fit));
            html.append("<h2>Calibration</h2>\n<p>").append(escape(String.format(Locale.ROOT, "Calibrated (%s) on %d tokens of %s.%s",
                    report.calibration().method(), report.calibration().tokens(), report.calibration().data(), fits.isEmpty() ? ""
                            : " Attention transfer's output error of each fitted layer, ‖y − y_dense‖² / ‖y_dense‖² on its held-out sequences, "
                                    + "is in the layer table: before the fit and after it."))).append("</p>\n");
        }
        html.append("<h2>Layers</h2>\n<table id=\"layers\"><tr><th>layer</th><th>attention</th><th>cosine</th><th>share</th><th>dense share</th>"
                + "<th>KL alone</th><th>transfer error before</th><th>after</th><th></th></tr>\n");
        for (VerifyReport.LayerReport layer : report.layers()) {
            VerifyReport.TransferFit fit = fits.get(layer.index());
            html.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%s</td><td>%s</td><td>%s</td>"
                    + "<td class=\"fail\">%s</td></tr>%n", layer.index(), escape(layer.attention()), layer.cosine(), layer.attentionShare(),
                    layer.referenceAttentionShare(), layer.klAlone() == null ? "" : String.format(Locale.ROOT, "%.4f", layer.klAlone()),
                    fit == null ? "" : String.format(Locale.ROOT, "%.4f", fit.before()), fit == null ? "" : String.format(Locale.ROOT, "%.4f", fit.after()),
                    layer.negligible() ? "negligible gla contribution" : ""));
        }
        html.append("</table>\n</body></html>\n");
        return html.toString();
    }

    /** Each int8 tensor's relative quantization error as a table of layers by projection, shaded by the error; other tensors listed below. */
    private static String quantizationHeatMap(SequencedMap<String, Double> errors) {
        Map<String, Map<String, Double>> byLayer = new LinkedHashMap<>();
        List<String> projections = new ArrayList<>();
        Map<String, Double> others = new LinkedHashMap<>();
        errors.forEach((name, error) -> {
            Matcher matcher = LAYER_WEIGHT.matcher(name);
            if (matcher.matches()) {
                if (!projections.contains(matcher.group(2))) {
                    projections.add(matcher.group(2));
                }
                byLayer.computeIfAbsent(matcher.group(1), key -> new LinkedHashMap<>()).put(matcher.group(2), error);
            }
            else {
                others.put(name, error);
            }
        });
        // Errors of one model lie close together: the shade spans the lowest to the highest, so the outliers show.
        double lowest = errors.values().stream().mapToDouble(Double::doubleValue).min().orElse(0);
        double highest = errors.values().stream().mapToDouble(Double::doubleValue).max().orElse(1);
        StringBuilder html = new StringBuilder("<h2>Quantization error per tensor</h2>\n<p>" + escape(String.format(Locale.ROOT, "Relative error of the int8 "
                + "weights, ‖w − ŵ‖ / ‖w‖, shaded from the lowest (%.4f, light) to the highest (%.4f, dark); a tensor calibrate refitted is measured "
                + "against its fitted values.", lowest, highest)) + "</p>\n"
                + "<table id=\"quantization-errors\"><tr><th>layer</th>");
        projections.forEach(projection -> html.append("<th>").append(escape(projection)).append("</th>"));
        html.append("</tr>\n");
        for (Map.Entry<String, Map<String, Double>> layer : byLayer.entrySet()) {
            html.append("<tr><td>").append(escape(layer.getKey())).append("</td>");
            for (String projection : projections) {
                Double error = layer.getValue().get(projection);
                html.append(error == null ? "<td></td>" : String.format(Locale.ROOT, "<td style=\"background:rgba(148,103,189,%.2f)\">%.4f</td>",
                        0.1 + 0.8 * (highest == lowest ? 1 : (error - lowest) / (highest - lowest)), error));
            }
            html.append("</tr>\n");
        }
        html.append("</table>\n");
        others.forEach((name, error) -> html.append(String.format(Locale.ROOT, "<p>%s: %.4f</p>%n", escape(name), error)));
        return html.toString();
    }

    /** The probe suite as a table: accuracy of each model per kind and distance, a skipped row where the dense model fails. */
    private static String probes(VerifyReport.Probes probes) {
        StringBuilder html = new StringBuilder("<h2>Retrieval probes</h2>\n<p>").append(escape(String.format(Locale.ROOT,
                "Share of answers predicted top-1, %d trials per distance; the bundle and the baseline run where the dense model reaches %.2f.",
                probes.trials(), probes.passingAccuracy()))).append("</p>\n<table id=\"probes\"><tr><th>probe</th><th>distance</th><th>answers</th>"
                        + "<th>dense</th><th>bundle</th><th>baseline</th></tr>\n");
        for (VerifyReport.ProbeResult result : probes.results()) {
            html.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%d</td><td>%d</td><td>%.3f</td><td>%s</td><td>%s</td></tr>%n", escape(result.kind().id()),
                    result.distance(), result.answers(), result.referenceAccuracy(),
                    result.skipped() ? "skipped: the dense model fails it" : String.format(Locale.ROOT, "%.3f", result.bundleAccuracy()),
                    result.baselineAccuracy() == null ? "" : String.format(Locale.ROOT, "%.3f", result.baselineAccuracy())));
        }
        html.append("</table>\n");
        for (String note : probes.notes()) {
            html.append("<p>").append(escape(note)).append("</p>\n");
        }
        return html.toString();
    }

    /**
     * Spike activity per site as a table of layers by projection, each cell shaded by its firing rate (the share of
     * slots that fire) and outlined when more than 0.1% of its counts saturate; a cell's title has the numbers.
     */
    private static String spikeHeatMap(List<SpikeStatistics> spikes) {
        Map<String, Map<String, SpikeStatistics>> byLayer = new LinkedHashMap<>();
        List<String> projections = new ArrayList<>();
        for (SpikeStatistics site : spikes) {
            String layer = site.site().replaceAll("^model\\.layers\\.(\\d+)\\..*$", "$1");
            String projection = site.site().substring(site.site().lastIndexOf('.') + 1);
            if (!projections.contains(projection)) {
                projections.add(projection);
            }
            byLayer.computeIfAbsent(layer, key -> new LinkedHashMap<>()).put(projection, site);
        }
        double highest = spikes.stream().mapToDouble(SpikeStatistics::firingRate).max().orElse(1);
        StringBuilder html = new StringBuilder("<h2>Spikes per site</h2>\n<p>Firing rate (darker fires more), outlined where more than 0.1% of "
                + "counts saturate.</p>\n<table id=\"spike-sites\"><tr><th>layer</th>");
        projections.forEach(projection -> html.append("<th>").append(escape(projection)).append("</th>"));
        html.append("</tr>\n");
        for (Map.Entry<String, Map<String, SpikeStatistics>> layer : byLayer.entrySet()) {
            html.append("<tr><td>").append(escape(layer.getKey())).append("</td>");
            for (String projection : projections) {
                SpikeStatistics site = layer.getValue().get(projection);
                if (site == null) {
                    html.append("<td></td>");
                    continue;
                }
                double shade = highest == 0 ? 0 : site.firingRate() / highest;
                html.append(String.format(Locale.ROOT, "<td style=\"background:rgba(44,160,44,%.2f)%s\" title=\"%s: firing rate %.4f, saturation %.5f, "
                        + "%d silent channels\">%.3f</td>", 0.1 + 0.8 * shade, site.saturation() > 0.001 ? ";outline:2px solid #c33" : "",
                        escape(site.site()), site.firingRate(), site.saturation(), site.silentChannels(), site.firingRate()));
            }
            html.append("</tr>\n");
        }
        return html.append("</table>\n").toString();
    }

    /** An axis start below the lowest of {@code values} by a quarter of their distance to {@code top}, never below 0. */
    static double fittedBottom(double[] values, double top) {
        double lowest = java.util.Arrays.stream(values).min().orElse(0);
        return Math.max(0, lowest - (top - lowest) * 0.25);
    }

    private static String escape(String text) {
        return XmlText.escape(text);
    }
}
