package dev.spikeconv.cli;

import dev.spikeconv.bench.BenchHtmlReport;
import dev.spikeconv.bench.BenchOptions;
import dev.spikeconv.bench.BenchReport;
import dev.spikeconv.bench.BenchReportJson;
import dev.spikeconv.bench.BenchReportText;
import dev.spikeconv.bench.BenchSection;
import dev.spikeconv.bench.Benchmarks;
import dev.spikeconv.bench.SyntheticCheckpoint.Dimensions;
import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.bundle.QuantizationOptions;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tensor.DType;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "bench", description = {"Measures conversion throughput, calibrate/verify speed, and prefill/decode latency against context "
        + "for a generated dense model and its conversions. Prints a table; medians of --repeats runs."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HelpOption help;

    @Option(names = "--sections", paramLabel = "LIST", split = ",", defaultValue = "convert,passes,context",
            description = "Any of convert, passes, context, scale (the scale section runs every command on a generated 7B- or 1B-class model). "
                    + "Default: ${DEFAULT-VALUE}.")
    List<String> sections;

    @Option(names = "--convert-size", paramLabel = "SIZE", defaultValue = "2GB", converter = Sizes.ByteSize.class,
            description = "Size of the generated checkpoint to convert. Default: ${DEFAULT-VALUE}.")
    long convertSize;

    @Option(names = "--convert-hidden", paramLabel = "N", defaultValue = "4096",
            description = "Hidden size of that checkpoint (Llama-7B proportions; layers follow from --convert-size). Default: ${DEFAULT-VALUE}.")
    int convertHidden;

    @Option(names = "--dtype", paramLabel = "DTYPE", defaultValue = "bf16", converter = Choices.WeightTypeChoices.class,
            completionCandidates = Choices.WeightTypeChoices.class, description = "bf16, f16 or f32 for the convert checkpoint. Default: ${DEFAULT-VALUE}.")
    Choices.WeightType dtype;

    @Option(names = "--contexts", paramLabel = "LIST", split = ",", defaultValue = "1024,2048,4096,8192,16384,32768",
            description = "Context lengths to prefill. Default: ${DEFAULT-VALUE}.")
    List<Integer> contexts;

    @Option(names = "--plans", paramLabel = "LIST", split = ",", defaultValue = "all-gla,spikingbrain,all-swa", completionCandidates = Choices.PlanNames.class,
            description = "Conversions to compare with the dense model. Default: ${DEFAULT-VALUE}.")
    List<String> plans;

    @Option(names = "--window", paramLabel = "W", defaultValue = "4096", description = "Sliding window of the converted models. Default: ${DEFAULT-VALUE}.")
    int window;

    @Option(names = "--quant", paramLabel = "MODE", defaultValue = "int8", converter = Choices.QuantizationChoices.class,
            completionCandidates = Choices.QuantizationChoices.class, description = "int8 or none, as for convert. Default: ${DEFAULT-VALUE}.")
    Choices.Quantization quant;

    @Option(names = "--group", paramLabel = "G", defaultValue = "128", converter = Sizes.Group.class, completionCandidates = Sizes.Group.class,
            description = "Inputs per int8 scale, or row. Default: ${DEFAULT-VALUE}.")
    int group;

    @Option(names = "--spike", paramLabel = "MODE", defaultValue = "dynamic", converter = Choices.SpikeModeChoices.class,
            completionCandidates = Choices.SpikeModeChoices.class, description = "dynamic or off, as for convert. Default: ${DEFAULT-VALUE}.")
    Choices.SpikeMode spikeMode;

    @Option(names = "--hidden", paramLabel = "N", defaultValue = "512", description = "Context model hidden size. Default: ${DEFAULT-VALUE}.")
    int hidden;

    @Option(names = "--layers", paramLabel = "N", defaultValue = "8", description = "Context model layers. Default: ${DEFAULT-VALUE}.")
    int layers;

    @Option(names = "--head-dim", paramLabel = "N", defaultValue = "64", description = "Context model head size. Default: ${DEFAULT-VALUE}.")
    int headDimension;

    @Option(names = "--intermediate", paramLabel = "N", defaultValue = "1536", description = "Context model MLP size. Default: ${DEFAULT-VALUE}.")
    int intermediate;

    @Option(names = "--vocab", paramLabel = "N", defaultValue = "4096", description = "Context model vocabulary. Default: ${DEFAULT-VALUE}.")
    int vocabulary;

    @Option(names = "--prefill-chunk", paramLabel = "N", defaultValue = "1024",
            description = "Tokens per ONNX Runtime call during prefill (a session splits calls longer than 1024). Default: ${DEFAULT-VALUE}.")
    int prefillChunk;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "16", description = "Decode steps timed after each prefill. Default: ${DEFAULT-VALUE}.")
    int decodeTokens;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "3", description = "Runs of every measurement; the median is reported. Default: ${DEFAULT-VALUE}.")
    int repeats;

    @Option(names = "--pass-tokens", paramLabel = "N", defaultValue = "4096", description = "Tokens for the calibrate/verify comparison. Default: ${DEFAULT-VALUE}.")
    int passTokens;

    @Option(names = "--pass-seq-len", paramLabel = "N", defaultValue = "512", description = "Sequence length of that comparison. Default: ${DEFAULT-VALUE}.")
    int passSequenceLength;

    @Option(names = "--scale-model", paramLabel = "SIZE", defaultValue = "1b", converter = Choices.ScaleModelChoices.class,
            completionCandidates = Choices.ScaleModelChoices.class,
            description = "The scale section's generated bf16 checkpoint: 7b (hidden 4096, 32 layers, 32/8 heads, FFN 11008, 11.9 GB) or 1b "
                    + "(hidden 2048, 20 layers, 32/4 heads, FFN 5632, 2.0 GB). Default: ${DEFAULT-VALUE}.")
    Choices.ScaleModel scaleModel;

    @Option(names = "--scale-tokens", paramLabel = "N", defaultValue = "4096", description = "Calibration tokens of the scale section. Default: ${DEFAULT-VALUE}.")
    int scaleTokens;

    @Mixin
    ThreadsOption threads;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Seed of the generated weights and tokens. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--work", paramLabel = "DIR", description = "Keep generated checkpoints (reused by the next run) and bundles here instead of a temporary folder. "
            + "A new or empty folder, or one an earlier bench marked as its own: the bench replaces what it wrote there.")
    Path work;

    @Option(names = "--json", paramLabel = "FILE.json", description = "Write every sample as JSON.")
    Path jsonFile;

    @Option(names = "--html", paramLabel = "FILE.html", description = "Write the tables and charts as a self-contained HTML page.")
    Path htmlFile;

    @Override
    public Integer call() throws Exception {
        if (headDimension < 2 || hidden % headDimension != 0) {
            throw new InvalidOptionException("hidden", "must be a multiple of the head size (head-dim " + headDimension + "), found " + hidden);
        }
        int heads = hidden / headDimension;
        BenchOptions options = new BenchOptions(work, sections.stream().map(BenchSection::parse).collect(Collectors.toSet()), convertSize, weightType(),
                BenchOptions.convertWidth(convertHidden), new Dimensions(hidden, intermediate, layers, heads, heads, vocabulary), contexts, plans, window,
                quantization(), spikes(), prefillChunk, decodeTokens, repeats, passTokens, passSequenceLength, threads.onnxRuntimeOptions(), seed,
                scaleModel.dimensions(), scaleTokens);
        PrintWriter err = spec.commandLine().getErr();
        BenchReport report = Benchmarks.run(options, message -> {
            err.println(message);
            err.flush();
        });
        PrintWriter out = spec.commandLine().getOut();
        BenchReportText.write(report, out);
        if (jsonFile != null) {
            Files.writeString(jsonFile, JsonDocuments.writer().writeValueAsString(BenchReportJson.toJson(report)));
        }
        if (htmlFile != null) {
            Files.writeString(htmlFile, BenchHtmlReport.render(report));
        }
        out.flush();
        return ExitCodes.OK;
    }

    private QuantizationOptions quantization() {
        return switch (quant) {
            case INT8 -> new QuantizationOptions(true, group, false, false);
            case NONE -> new QuantizationOptions(false, QuantizationOptions.DEFAULT_GROUP, false, false);
        };
    }

    private SpikeSettings spikes() {
        return switch (spikeMode) {
            case DYNAMIC -> BenchOptions.DEFAULT_SPIKES;
            case OFF -> SpikeSettings.OFF;
        };
    }

    private DType weightType() {
        return switch (dtype) {
            case BF16 -> DType.BF16;
            case F16 -> DType.F16;
            case F32 -> DType.F32;
        };
    }
}
