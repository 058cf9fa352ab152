package dev.spikeconv.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.bench.BenchReport.ContextResult;
import dev.spikeconv.bench.BenchReport.ConvertResult;
import dev.spikeconv.bench.BenchReport.PassResult;
import java.util.Locale;

/** The bench report as JSON: every sample, plus the medians the table shows. */
public final class BenchReportJson {
    private BenchReportJson() {}

    public static ObjectNode toJson(BenchReport report) {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        ObjectNode environment = json.putObject("environment");
        environment.put("java_version", report.environment().javaVersion());
        environment.put("processors", report.environment().processors());
        environment.put("onnx_runtime_threads", report.environment().onnxRuntimeThreads());
        environment.put("max_heap_bytes", report.environment().maximumHeapBytes());
        if (report.convert() != null) {
            ConvertResult convert = report.convert();
            ObjectNode node = json.putObject("convert");
            node.put("plan", "spikingbrain");
            node.put("dtype", convert.dtype().name().toLowerCase(Locale.ROOT));
            node.put("source_bytes", convert.sourceBytes());
            node.put("layers", convert.dimensions().layers());
            node.put("hidden_size", convert.dimensions().hiddenSize());
            samples(node, "seconds", convert.seconds());
            node.put("gigabytes_per_second", convert.gigabytesPerSecond());
            node.put("peak_heap_bytes", convert.peak().heapBytes());
            node.put("max_heap_bytes", convert.maximumHeapBytes());
            node.put("peak_rss_bytes", convert.peak().residentBytes());
            node.put("peak_anonymous_rss_bytes", convert.peak().anonymousResidentBytes());
        }
        ArrayNode passes = json.putArray("passes");
        for (PassResult pass : report.passes()) {
            ObjectNode node = passes.addObject();
            node.put("pass", pass.name());
            node.put("tokens", pass.tokens());
            samples(node, "seconds", pass.seconds());
            node.put("tokens_per_second", pass.tokensPerSecond());
            node.put("forward_ratio", pass.ratioToForward());
        }
        ObjectNode model = json.putObject("context_model");
        model.put("hidden_size", report.contextModel().hiddenSize());
        model.put("intermediate_size", report.contextModel().intermediateSize());
        model.put("layers", report.contextModel().layers());
        model.put("heads", report.contextModel().heads());
        model.put("key_value_heads", report.contextModel().keyValueHeads());
        model.put("vocab_size", report.contextModel().vocabularySize());
        model.put("prefill_chunk", report.prefillChunk());
        ArrayNode context = json.putArray("context");
        for (ContextResult result : report.context()) {
            ObjectNode node = context.addObject();
            node.put("model", result.model());
            node.put("context", result.context());
            samples(node, "prefill_seconds", result.prefillSeconds());
            samples(node, "decode_milliseconds", result.decodeMillis());
            node.put("cache_bytes", result.cacheBytes());
        }
        if (report.scale() != null) {
            BenchReport.ScaleResult scale = report.scale();
            ObjectNode node = json.putObject("scale");
            node.put("hidden_size", scale.model().hiddenSize());
            node.put("intermediate_size", scale.model().intermediateSize());
            node.put("layers", scale.model().layers());
            node.put("heads", scale.model().heads());
            node.put("key_value_heads", scale.model().keyValueHeads());
            node.put("vocab_size", scale.model().vocabularySize());
            node.put("parameters", scale.parameters());
            node.put("checkpoint_bytes", scale.checkpointBytes());
            node.put("bundle_bytes", scale.bundleBytes());
            node.put("calibration_tokens", scale.calibrationTokens());
            ArrayNode steps = node.putArray("steps");
            for (BenchReport.ScaleStep step : scale.steps()) {
                ObjectNode stepNode = steps.addObject().put("step", step.name()).put("exit_code", step.exitCode()).put("seconds", step.seconds())
                        .put("peak_heap_bytes", step.peakHeapBytes()).put("peak_anonymous_rss_bytes", step.peakAnonymousBytes());
                if (Double.isNaN(step.forwardGigaOperations())) {
                    stepNode.putNull("forward_giga_operations").putNull("forward_giga_operations_per_second");
                }
                else {
                    stepNode.put("forward_giga_operations", step.forwardGigaOperations()).put("forward_giga_operations_per_second",
                            step.gigaOperationsPerSecond());
                }
            }
        }
        return json;
    }

    private static void samples(ObjectNode node, String name, Samples samples) {
        node.put(name, samples.median());
        ArrayNode values = node.putArray(name + "_samples");
        for (double value : samples.values()) {
            values.add(value);
        }
    }
}
