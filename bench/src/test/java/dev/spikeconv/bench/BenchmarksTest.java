package dev.spikeconv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.bench.BenchReport.ContextResult;
import dev.spikeconv.bench.BenchReport.PassResult;
import dev.spikeconv.bench.SyntheticCheckpoint.Dimensions;
import dev.spikeconv.converter.bundle.QuantizationOptions;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.formats.tensor.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bench on tiny generated models: every section runs and reports consistent numbers (no timing is asserted). */
class BenchmarksTest {
    private static final Dimensions CONTEXT_MODEL = new Dimensions(64, 128, 2, 2, 2, 256);

    @TempDir
    Path directory;

    private BenchOptions options(Path work, EnumSet<BenchSection> sections) {
        return new BenchOptions(work, sections, 4 << 20, DType.BF16, new Dimensions(128, 344, 1, 1, 1, 2000), CONTEXT_MODEL, List.of(24, 48),
                List.of("all-gla", "all-swa"), 16, QuantizationOptions.DEFAULT, BenchOptions.DEFAULT_SPIKES, 16, 3, 2, 64, 32,
                new OnnxRuntimeOptions(2), 0, BenchOptions.ONE_B_MODEL, 4096);
    }

    @Test
    void everySectionReportsConsistentNumbers() throws IOException {
        List<String> progress = new ArrayList<>();
        BenchReport report = Benchmarks.run(options(directory.resolve("work"), EnumSet.allOf(BenchSection.class)), progress::add);

        assertThat(report.convert().sourceBytes()).isEqualTo(2 * report.convert().dimensions().parameterCount());
        assertThat(report.convert().dimensions().layers()).isGreaterThan(1);
        assertThat(Math.abs(report.convert().sourceBytes() - (4 << 20))).isLessThan(2 * 500_000);
        assertThat(report.convert().seconds().values()).hasSize(2);
        assertThat(report.convert().seconds().minimum()).isPositive();
        assertThat(report.convert().peak().heapBytes()).isPositive();

        assertThat(report.passes()).extracting(PassResult::name).containsExactly(PassBenchmark.FORWARD_BUNDLE, PassBenchmark.FORWARD_DENSE,
                PassBenchmark.CALIBRATE, PassBenchmark.VERIFY);
        assertThat(report.passes()).allSatisfy(pass -> {
            assertThat(pass.tokens()).isEqualTo(64);
            assertThat(pass.ratioToForward()).isPositive();
        });

        Map<String, List<ContextResult>> byModel = report.context().stream().collect(Collectors.groupingBy(ContextResult::model));
        assertThat(byModel).containsOnlyKeys(ContextBenchmark.DENSE, "all-gla", "all-swa");
        List<ContextResult> dense = byModel.get(ContextBenchmark.DENSE);
        List<ContextResult> linear = byModel.get("all-gla");
        List<ContextResult> window = byModel.get("all-swa");
        assertThat(dense).extracting(ContextResult::context).containsExactly(24, 48);
        // After context + 3 decode steps: a KV cache per token; a fixed GLA state; an SWA window of 15 keys.
        int perToken = 2 * CONTEXT_MODEL.layers() * CONTEXT_MODEL.keyValueHeads() * CONTEXT_MODEL.headDimension() * Float.BYTES;
        assertThat(dense.get(0).cacheBytes()).isEqualTo((long) perToken * (24 + 3));
        assertThat(dense.get(1).cacheBytes()).isEqualTo((long) perToken * (48 + 3));
        long state = (long) CONTEXT_MODEL.layers() * CONTEXT_MODEL.keyValueHeads() * CONTEXT_MODEL.headDimension() * CONTEXT_MODEL.headDimension() * Float.BYTES;
        assertThat(linear).extracting(ContextResult::cacheBytes).containsExactly(state, state);
        assertThat(window).extracting(ContextResult::cacheBytes).containsExactly((long) perToken * 15, (long) perToken * 15);
        assertThat(report.context()).allSatisfy(result -> {
            assertThat(result.prefillSeconds().values()).hasSize(2);
            assertThat(result.decodeMillis().values()).hasSize(2 * 3);
        });
        assertThat(progress).anyMatch(line -> line.startsWith("context: all-gla"));
        // Generated models and bundles stay in the work folder for the next run; the convert section cleans up after itself.
        try (Stream<Path> files = Files.list(directory.resolve("work"))) {
            List<String> names = files.map(path -> path.getFileName().toString()).toList();
            String model = Benchmarks.contextModelName(options(null, EnumSet.of(BenchSection.CONTEXT)));
            assertThat(names).contains(model).doesNotContain("convert-source", "convert-bundle");
            for (String plan : List.of("all-gla", "all-swa", "spikingbrain")) {
                assertThat(names).contains("bundle-" + plan + "-w16-int8g128-k3.0-of-" + model);
            }
        }
        // Other conversion settings in the same work folder make new bundles instead of reusing these.
        BenchOptions unquantized = new BenchOptions(directory.resolve("work"), EnumSet.of(BenchSection.CONTEXT), 4 << 20, DType.BF16,
                new Dimensions(128, 344, 1, 1, 1, 2000), CONTEXT_MODEL, List.of(24), List.of("all-gla"), 16, QuantizationOptions.NONE,
                BenchOptions.DEFAULT_SPIKES, 16, 1, 1, 64, 32, new OnnxRuntimeOptions(2), 0, BenchOptions.ONE_B_MODEL, 4096);
        Benchmarks.run(unquantized, line -> {});
        try (Stream<Path> files = Files.list(directory.resolve("work"))) {
            assertThat(files.map(path -> path.getFileName().toString())).anyMatch(name -> name.startsWith("bundle-all-gla-w16-float-"));
        }
    }

    @Test
    void reportsAsTextJsonAndHtml() throws IOException {
        BenchReport report = Benchmarks.run(options(null, EnumSet.of(BenchSection.CONTEXT)), line -> {});
        StringWriter text = new StringWriter();
        BenchReportText.write(report, new PrintWriter(text));
        assertThat(text.toString()).contains("prefill growth", "all-gla", "× at 48").doesNotContain("passes over");
        JsonNode json = BenchReportJson.toJson(report);
        assertThat(json.path("context")).hasSize(6);
        assertThat(json.path("context").get(0).path("prefill_seconds_samples")).hasSize(2);
        assertThat(json.has("convert")).isFalse();
        String html = BenchHtmlReport.render(report);
        assertThat(html).contains("<svg", "id=\"prefill\"", "id=\"decode\"").endsWith("</html>\n");
    }
}
