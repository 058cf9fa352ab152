package dev.spikeconv.cli;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.bundle.BundleWriter;
import dev.spikeconv.converter.bundle.ConversionOptions;
import dev.spikeconv.converter.bundle.QuantizationOptions;
import dev.spikeconv.converter.calibration.CalibrationOptions;
import dev.spikeconv.converter.calibration.CalibrationReport;
import dev.spikeconv.converter.calibration.CalibrationReportText;
import dev.spikeconv.converter.calibration.Calibrator;
import dev.spikeconv.converter.calibration.ThresholdMethod;
import dev.spikeconv.converter.hardware.KernelManifest;
import dev.spikeconv.converter.inspect.ModelInspectionText;
import dev.spikeconv.converter.layers.GatedLinearLayer;
import dev.spikeconv.converter.layers.HybridLayer;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.plan.LayerPlan;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.converter.planner.PlanReportJson;
import dev.spikeconv.converter.transfer.TransferOptions;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "convert", description = "Converts a dense checkpoint into a spiking model bundle (safetensors, ONNX graph, config).")
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HelpOption help;

    @Mixin
    QuietOption quiet;

    @Mixin
    TargetOptions targetOptions;

    @Parameters(paramLabel = "INPUT", description = "The dense checkpoint: Hugging Face folder, GGUF file or llama2.c .bin.")
    Path input;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT", required = true, description = "The bundle folder to create.")
    Path output;

    @Option(names = "--plan", paramLabel = "PLAN", defaultValue = "spikingbrain", completionCandidates = Choices.PlanNames.class,
            description = "spikingbrain, alternate, all-gla, all-swa, dense, @PLAN.json (written by spikeconv plan), or a list such as 0-3:gla,4:swa/512+4,5:softmax (kinds softmax, gla, swa/W+S, hybrid/W+S). Default: ${DEFAULT-VALUE}.")
    String plan;

    @Option(names = "--window", paramLabel = "W", defaultValue = "4096",
            description = "Sliding window (keys including the current one) of alternate, all-swa and bare swa items. Default: ${DEFAULT-VALUE}.")
    int window;

    @Option(names = "--sinks", paramLabel = "N", defaultValue = "0", description = "Leading positions every sliding-window query also sees. Default: ${DEFAULT-VALUE}.")
    int sinks;

    @Option(names = "--quant", paramLabel = "MODE", defaultValue = "int8", converter = Choices.QuantizationChoices.class,
            completionCandidates = Choices.QuantizationChoices.class,
            description = "int8 (projection weights as real int8 with float32 scales) or none. Default: ${DEFAULT-VALUE}.")
    Choices.Quantization quant;

    @Option(names = "--group", paramLabel = "G", defaultValue = "128", converter = Sizes.Group.class, completionCandidates = Sizes.Group.class,
            description = "Inputs per int8 scale, or row for one scale per output row. Default: ${DEFAULT-VALUE}.")
    int group;

    @Option(names = "--quantize-embeddings", description = "Store the token embeddings as int8 too.")
    boolean quantizeEmbeddings;

    @Option(names = "--quantize-head", description = "Store the output head as int8 too.")
    boolean quantizeHead;

    @Option(names = "--spike", paramLabel = "MODE", defaultValue = "dynamic", converter = Choices.SpikeModeChoices.class,
            completionCandidates = Choices.SpikeModeChoices.class, description = "dynamic (θ = mean|a|/k per token) or off. Default: ${DEFAULT-VALUE}.")
    Choices.SpikeMode spikeMode;

    @Option(names = "--k", paramLabel = "K", defaultValue = "3", description = "Dynamic threshold divisor. Default: ${DEFAULT-VALUE}.")
    double k;

    @Option(names = "--time-steps", paramLabel = "T", defaultValue = "127", description = "Spike counts are clamped to ±T (at most 127). Default: ${DEFAULT-VALUE}.")
    int timeSteps;

    @Option(names = "--coding", paramLabel = "CODING", defaultValue = "ternary", converter = Choices.CodingChoices.class,
            completionCandidates = Choices.CodingChoices.class, description = "ternary or bitwise spike trains. Default: ${DEFAULT-VALUE}.")
    Choices.Coding coding;

    @Option(names = "--spike-exclude", paramLabel = "SUFFIX", split = ",", description = "Projections that stay in float, by name suffix, e.g. mlp.down_proj.")
    List<String> spikeExclude = List.of();

    @Option(names = "--layout", paramLabel = "LAYOUT", converter = Choices.LayoutChoices.class, completionCandidates = Choices.LayoutChoices.class,
            description = "w8aspike: also write BICLab's W8ASpike layout into OUT/w8aspike.")
    Choices.Layout layout;

    @Option(names = "--max-shard-size", paramLabel = "SIZE", defaultValue = "5GB", converter = Sizes.ByteSize.class,
            description = "Largest safetensors file before sharding, e.g. 500MB. Default: ${DEFAULT-VALUE}.")
    long maxShardSize;

    @Option(names = "--force", description = "Replace OUT if it exists.")
    boolean force;

    @Option(names = "--calibrate", paramLabel = "TEXT",
            description = "Calibrate right after converting, on this text (or file of token ids) with calibrate's defaults: attention transfer to "
                    + "INPUT, mse thresholds, sequences of 512. For other settings run spikeconv calibrate.")
    Path calibrationData;

    @Option(names = "--calibrate-tokens", paramLabel = "N", defaultValue = "4096", description = "Tokens of --calibrate to use. Default: ${DEFAULT-VALUE}.")
    int calibrationTokens;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (ModelDescription source = CheckpointLoader.open(input)) {
            ConversionOptions options = options(source);
            CalibrationOptions calibration = calibrationOptions(options);
            BundleWriter.Summary summary = BundleWriter.convert(source, input, output, options, quiet.progress(spec.commandLine().getErr()));
            double seconds = summary.nanos() / 1e9;
            out.printf(Locale.ROOT, "wrote %s%n", summary.output());
            out.printf(Locale.ROOT, "  plan          %s: %s%n", options.plan().name(), ModelInspectionText.attentionSummary(options.plan().layers()));
            out.printf(Locale.ROOT, "  weights       %s%n", options.quantization().enabled()
                    ? "int8, " + (options.quantization().group() == 0 ? "per row" : "groups of " + options.quantization().group()) : "source dtype");
            out.printf(Locale.ROOT, "  spikes        %s%n", options.spike().spiking()
                    ? options.spike().mode().id() + ", k " + options.spike().k() + ", T " + options.spike().timeSteps() + ", " + options.spike().coding().id() : "off");
            for (var profile : options.targets()) {
                out.printf(Locale.ROOT, "  manifest      %s%n", summary.output().resolve(KernelManifest.fileName(profile.id())));
            }
            out.printf(Locale.ROOT, "  tensors       %d, %s read, %s written in %.1f s (%s/s)%n", summary.tensorCount(),
                    ModelInspectionText.humanBytes(summary.sourceBytes()), ModelInspectionText.humanBytes(summary.writtenBytes()), seconds,
                    ModelInspectionText.humanBytes((long) (summary.sourceBytes() / Math.max(seconds, 1e-9))));
            if (calibration != null) {
                out.flush();
                return calibrate(calibration, out);
            }
            boolean gla = options.plan().layers().stream().anyMatch(layer -> LayerKind.of(layer) instanceof GatedLinearLayer);
            boolean hybrid = options.plan().layers().stream().anyMatch(layer -> LayerKind.of(layer) instanceof HybridLayer);
            if (gla || hybrid) {
                // GLA layers start from a fixed decay and the source's q/k/v/o: without calibrate the model is poor. Hybrid
                // layers start as their windows: calibrate gives their older keys a weight.
                out.printf(Locale.ROOT, "next: fit its %s to the source and set spike thresholds on your text:%n  spikeconv calibrate %s "
                        + "--reference %s --data TEXT%n", gla && hybrid ? "GLA and hybrid layers" : gla ? "GLA layers" : "hybrid layers", summary.output(), input);
            }
            out.flush();
            return ExitCodes.OK;
        }
    }

    /**
     * calibrate's defaults for {@code --calibrate}, checked before anything is written: a bundle with nothing to calibrate
     * (spikes off and no GLA layers) is refused as calibrate itself would refuse it. Null without {@code --calibrate}.
     */
    private CalibrationOptions calibrationOptions(ConversionOptions options) throws NoSuchFileException {
        if (calibrationData == null) {
            return null;
        }
        if (!Files.isRegularFile(calibrationData)) {
            throw new NoSuchFileException(calibrationData.toString(), null, "no such file (--calibrate)");
        }
        boolean gla = options.plan().layers().stream().anyMatch(layer -> LayerKind.of(layer).keepsState());
        if (!gla && !options.spike().spiking()) {
            throw new InvalidOptionException("calibrate", "nothing to calibrate: the bundle's spikes are off and it has no GLA layers");
        }
        return new CalibrationOptions(output, calibrationData, null, calibrationTokens, 512, 0, ThresholdMethod.parse("mse"), null, null, null,
                input, TransferOptions.DEFAULT, null, 4, List.of(), null, false, false);
    }

    /** The calibrate step of {@code --calibrate}: its table after convert's; the bundle stays converted if it fails. */
    private int calibrate(CalibrationOptions calibration, PrintWriter out) throws IOException {
        CalibrationReport report;
        try {
            report = Calibrator.run(calibration, quiet.progress(spec.commandLine().getErr()));
        }
        catch (IOException | RuntimeException e) {
            spec.commandLine().getErr().printf(Locale.ROOT, "spikeconv: %s was converted but not calibrated; after fixing what follows, run spikeconv "
                    + "calibrate %s --reference %s --data %s%n", output, output, input, calibrationData);
            spec.commandLine().getErr().flush();
            throw e;
        }
        out.println();
        out.print(CalibrationReportText.render(report));
        out.flush();
        return ExitCodes.OK;
    }

    private ConversionOptions options(ModelDescription source) throws IOException {
        LayerPlan layerPlan = LayerPlans.parse(plan.startsWith("@") ? PlanReportJson.readPlan(Path.of(plan.substring(1))) : plan, window, sinks,
                source.config());
        QuantizationOptions quantization = switch (quant) {
            case INT8 -> new QuantizationOptions(true, group, quantizeEmbeddings, quantizeHead);
            case NONE -> new QuantizationOptions(false, QuantizationOptions.DEFAULT_GROUP, quantizeEmbeddings, quantizeHead);
        };
        SpikeSettings.Mode mode = switch (spikeMode) {
            case DYNAMIC -> SpikeSettings.Mode.DYNAMIC;
            case OFF -> SpikeSettings.Mode.OFF;
        };
        SpikeSettings.Coding spikeCoding = switch (coding) {
            case TERNARY -> SpikeSettings.Coding.TERNARY;
            case BITWISE -> SpikeSettings.Coding.BITWISE;
        };
        SpikeSettings spike = ConversionOptions.spikeSettings(mode, k, timeSteps, spikeCoding, spikeExclude);
        return new ConversionOptions(layerPlan, quantization, spike, layout != null, maxShardSize, force, targetOptions.profiles(),
                targetOptions.manifestOptions());
    }
}
