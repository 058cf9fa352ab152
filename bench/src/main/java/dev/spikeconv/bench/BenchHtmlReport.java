package dev.spikeconv.bench;

import dev.spikeconv.bench.BenchReport.ContextResult;
import dev.spikeconv.converter.report.SvgCharts;
import dev.spikeconv.converter.report.XmlText;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/** A self-contained HTML page: the text tables and bar charts of prefill and decode time against context. */
public final class BenchHtmlReport {
    private static final String[] COLORS = {"#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"};

    private BenchHtmlReport() {}

    public static String render(BenchReport report) {
        StringWriter text = new StringWriter();
        BenchReportText.write(report, new PrintWriter(text));
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>spikeconv bench</title>\n")
                .append("<style>body{font-family:sans-serif;margin:24px;color:#222}pre{background:#f6f6f6;padding:12px;overflow-x:auto;font-size:12px}svg.chart{display:block;margin:18px 0;width:100%;max-width:1400px;height:auto}</style></head><body>\n")
                .append("<h1>spikeconv bench</h1>\n<pre>").append(XmlText.escape(text.toString())).append("</pre>\n");
        if (!report.context().isEmpty()) {
            List<Integer> contexts = report.context().stream().map(ContextResult::context).distinct().sorted().toList();
            List<String> labels = contexts.stream().map(String::valueOf).toList();
            html.append(chart("prefill", "Prefill seconds against context", report.context(), contexts, labels, result -> result.prefillSeconds().median()));
            html.append(chart("decode", "Decode milliseconds per token against context", report.context(), contexts, labels,
                    result -> result.decodeMillis().median()));
        }
        return html.append("</body></html>\n").toString();
    }

    private static String chart(String id, String title, List<ContextResult> results, List<Integer> contexts, List<String> labels,
            ToDoubleFunction<ContextResult> value) {
        Map<String, double[]> byModel = new LinkedHashMap<>();
        double maximum = 0;
        for (ContextResult result : results) {
            double[] values = byModel.computeIfAbsent(result.model(), name -> new double[contexts.size()]);
            values[contexts.indexOf(result.context())] = value.applyAsDouble(result);
            maximum = Math.max(maximum, value.applyAsDouble(result));
        }
        List<SvgCharts.Series> series = new ArrayList<>();
        for (Map.Entry<String, double[]> entry : byModel.entrySet()) {
            series.add(new SvgCharts.Series(entry.getKey(), entry.getValue(), COLORS[series.size() % COLORS.length]));
        }
        return SvgCharts.bars(id, title, labels, series, maximum);
    }
}
