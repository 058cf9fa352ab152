package dev.spikeconv.bench;

import dev.spikeconv.bench.BenchReport.ContextResult;
import dev.spikeconv.bench.BenchReport.ConvertResult;
import dev.spikeconv.bench.BenchReport.PassResult;
import dev.spikeconv.converter.inspect.ModelInspectionText;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The bench report as tables for a terminal. */
public final class BenchReportText {
    private BenchReportText() {}

    public static void write(BenchReport report, PrintWriter out) {
        BenchReport.Environment environment = report.environment();
        out.printf(Locale.ROOT, "machine: %d processors, Java %s, ONNX Runtime threads %d, max heap %s; medians of repeated runs%n", environment.processors(),
                environment.javaVersion(), environment.onnxRuntimeThreads(), ModelInspectionText.humanBytes(environment.maximumHeapBytes()));
        if (report.convert() != null) {
            ConvertResult convert = report.convert();
            out.println();
            out.printf(Locale.ROOT, "convert (--plan spikingbrain, int8, dynamic spikes) of a generated %s checkpoint, %s, %d layers of hidden %d%n",
                    convert.dtype().name().toLowerCase(Locale.ROOT), ModelInspectionText.humanBytes(convert.sourceBytes()), convert.dimensions().layers(),
                    convert.dimensions().hiddenSize());
            out.printf(Locale.ROOT, "  time %.2f s (min %.2f, max %.2f), %.3f GB/s of input%n", convert.seconds().median(), convert.seconds().minimum(),
                    convert.seconds().maximum(), convert.gigabytesPerSecond());
            out.printf(Locale.ROOT, "  peak heap %s of %s max; peak RSS %s (counts mapped checkpoint pages), anonymous %s%n",
                    ModelInspectionText.humanBytes(convert.peak().heapBytes()), ModelInspectionText.humanBytes(convert.maximumHeapBytes()),
                    bytesOrUnknown(convert.peak().residentBytes()), bytesOrUnknown(convert.peak().anonymousResidentBytes()));
        }
        if (!report.passes().isEmpty()) {
            out.println();
            out.printf(Locale.ROOT, "passes over %d tokens (spikingbrain bundle of the context model)%n", report.passes().getFirst().tokens());
            out.printf(Locale.ROOT, "  %-24s %10s %10s %18s%n", "pass", "seconds", "tokens/s", "forward/pass time");
            for (PassResult pass : report.passes()) {
                out.printf(Locale.ROOT, "  %-24s %10.2f %10.0f %18.2f%n", pass.name(), pass.seconds().median(), pass.tokensPerSecond(), pass.ratioToForward());
            }
        }
        if (!report.context().isEmpty()) {
            out.println();
            String denseAttention = report.contextModel().headDimension() % 8 == 0
                    ? "prefills with ONNX Runtime's fused GroupQueryAttention and decodes with ONNX's Attention"
                    : "runs ONNX's Attention (the fused kernel needs a head dim that is a multiple of 8)";
            out.printf(Locale.ROOT, "context: hidden %d, %d layers, head dim %d, vocabulary %d; prefill in calls of %d tokens; dense %s%n",
                    report.contextModel().hiddenSize(), report.contextModel().layers(), report.contextModel().headDimension(),
                    report.contextModel().vocabularySize(), report.prefillChunk(), denseAttention);
            out.printf(Locale.ROOT, "  %-13s %8s %11s %10s %14s %12s%n", "model", "context", "prefill s", "tokens/s", "decode ms/tok", "cache");
            for (ContextResult result : report.context()) {
                out.printf(Locale.ROOT, "  %-13s %8d %11.3f %10.0f %14.2f %12s%n", result.model(), result.context(), result.prefillSeconds().median(),
                        result.context() / result.prefillSeconds().median(), result.decodeMillis().median(), ModelInspectionText.humanBytes(result.cacheBytes()));
            }
            writeRatios(report.context(), out);
        }
        if (report.scale() != null) {
            BenchReport.ScaleResult scale = report.scale();
            out.println();
            out.printf(Locale.ROOT, "scale: generated bf16 checkpoint of %.2fB parameters (hidden %d, %d layers, %d/%d heads, FFN %d, vocabulary %d), %s; "
                    + "bundle %s; each step its own process%n", scale.parameters() / 1e9, scale.model().hiddenSize(), scale.model().layers(),
                    scale.model().heads(), scale.model().keyValueHeads(), scale.model().intermediateSize(), scale.model().vocabularySize(),
                    ModelInspectionText.humanBytes(scale.checkpointBytes()), ModelInspectionText.humanBytes(scale.bundleBytes()));
            out.printf(Locale.ROOT, "  %-10s %5s %10s %12s %14s %22s%n", "step", "exit", "seconds", "peak heap", "peak anon RSS", "GFLOP/s (1 fwd pass)");
            for (BenchReport.ScaleStep step : scale.steps()) {
                out.printf(Locale.ROOT, "  %-10s %5d %10.1f %12s %14s %22s%n", step.name(), step.exitCode(), step.seconds(), bytesOrUnknown(step.peakHeapBytes()),
                        bytesOrUnknown(step.peakAnonymousBytes()), Double.isNaN(step.forwardGigaOperations()) ? "-"
                                : String.format(Locale.ROOT, "%.1f", step.gigaOperationsPerSecond()));
            }
            out.printf(Locale.ROOT, "  calibrate: %d tokens (attention transfer, statistics, a measuring pass); verify, run: 512 tokens; generate: 64 tokens%n",
                    scale.calibrationTokens());
        }
        out.flush();
    }

    /** Growth from the shortest to the longest context, and speed-up over dense at the longest. */
    private static void writeRatios(List<ContextResult> results, PrintWriter out) {
        Map<String, List<ContextResult>> byModel = new LinkedHashMap<>();
        for (ContextResult result : results) {
            byModel.computeIfAbsent(result.model(), name -> new ArrayList<>()).add(result);
        }
        List<ContextResult> dense = byModel.get(ContextBenchmark.DENSE);
        out.println();
        out.printf(Locale.ROOT, "  %-13s %22s %22s %20s%n", "model", "prefill growth", "decode growth", "speed-up over dense");
        for (Map.Entry<String, List<ContextResult>> entry : byModel.entrySet()) {
            List<ContextResult> rows = entry.getValue();
            ContextResult first = rows.getFirst();
            ContextResult last = rows.getLast();
            String speedUp = "";
            if (dense != null && !entry.getKey().equals(ContextBenchmark.DENSE)) {
                ContextResult denseLast = dense.stream().filter(row -> row.context() == last.context()).findFirst().orElse(null);
                if (denseLast != null) {
                    speedUp = String.format(Locale.ROOT, "%.2f× at %d", denseLast.prefillSeconds().median() / last.prefillSeconds().median(), last.context());
                }
            }
            out.printf(Locale.ROOT, "  %-13s %22s %22s %20s%n", entry.getKey(),
                    String.format(Locale.ROOT, "%.2f× (%d→%d)", last.prefillSeconds().median() / first.prefillSeconds().median(), first.context(), last.context()),
                    String.format(Locale.ROOT, "%.2f× (%d→%d)", last.decodeMillis().median() / first.decodeMillis().median(), first.context(), last.context()),
                    speedUp);
        }
    }

    private static String bytesOrUnknown(long bytes) {
        return bytes < 0 ? "unknown" : ModelInspectionText.humanBytes(bytes);
    }
}
