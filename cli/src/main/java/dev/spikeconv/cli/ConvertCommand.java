package dev.spikeconv.cli;

import dev.spikeconv.converter.bundle.BundleWriter;
import dev.spikeconv.converter.bundle.ConversionOptions;
import dev.spikeconv.converter.bundle.QuantizationOptions;
import dev.spikeconv.converter.inspect.ModelInspectionText;
import dev.spikeconv.converter.plan.LayerPlan;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.converter.hardware.KernelManifest;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "convert", description = "Converts a dense checkpoint into a spiking model bundle (safetensors, ONNX graph, config).")
final class ConvertCommand implements Callable<Integer> {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?", Pattern.CASE_INSENSITIVE);

    @Spec
    CommandSpec spec;

    @Mixin
    HelpOption help;

    @Mixin
    TargetOptions targetOptions;

    @Parameters(paramLabel = "INPUT", description = "The dense checkpoint: Hugging Face folder, GGUF file or llama2.c .bin.")
    Path input;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT", required = true, description = "The bundle folder to create.")
    Path output;

    @Option(names = "--plan", paramLabel = "PLAN", defaultValue = "spikingbrain",
            description = "spikingbrain, alternate, all-gla, all-swa, dense, or a list such as 0-3:gla,4:swa/512+4,5:softmax. Default: ${DEFAULT-VALUE}.")
    String plan;

    @Option(names = "--window", paramLabel = "W", defaultValue = "4096", description = "Sliding window (keys including the current one) of alternate, all-swa and bare swa items. Default: ${DEFAULT-VALUE}.")
    int window;

    @Option(names = "--sinks", paramLabel = "N", defaultValue = "0", description = "Leading positions every sliding-window query also sees. Default: ${DEFAULT-VALUE}.")
    int sinks;

    @Option(names = "--quant", paramLabel = "MODE", defaultValue = "int8", description = "int8 (projection weights as real int8 with float32 scales) or none. Default: ${DEFAULT-VALUE}.")
    String quant;

    @Option(names = "--group", paramLabel = "G", defaultValue = "128", description = "Inputs per int8 scale, or row for one scale per output row. Default: ${DEFAULT-VALUE}.")
    String group;

    @Option(names = "--quantize-embeddings", description = "Store the token embeddings as int8 too.")
    boolean quantizeEmbeddings;

    @Option(names = "--quantize-head", description = "Store the output head as int8 too.")
    boolean quantizeHead;

    @Option(names = "--spike", paramLabel = "MODE", defaultValue = "dynamic", description = "dynamic (θ = mean|a|/k per token) or off. Default: ${DEFAULT-VALUE}.")
    String spikeMode;

    @Option(names = "--k", paramLabel = "K", defaultValue = "3", description = "Dynamic threshold divisor. Default: ${DEFAULT-VALUE}.")
    double k;

    @Option(names = "--time-steps", paramLabel = "T", defaultValue = "127", description = "Spike counts are clamped to ±T (at most 127). Default: ${DEFAULT-VALUE}.")
    int timeSteps;

    @Option(names = "--coding", paramLabel = "CODING", defaultValue = "ternary", description = "ternary, bitwise or binary spike trains. Default: ${DEFAULT-VALUE}.")
    String coding;

    @Option(names = "--spike-exclude", paramLabel = "SUFFIX", split = ",", description = "Projections that stay in float, by name suffix, e.g. mlp.down_proj.")
    List<String> spikeExclude = List.of();

    @Option(names = "--layout", paramLabel = "LAYOUT", description = "w8aspike: also write BICLab's W8ASpike layout into OUT/w8aspike.")
    String layout;

    @Option(names = "--max-shard-size", paramLabel = "SIZE", defaultValue = "5GB", description = "Largest safetensors file before sharding, e.g. 500MB. Default: ${DEFAULT-VALUE}.")
    String maxShardSize;

    @Option(names = "--force", description = "Replace OUT if it exists.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (ModelDescription source = CheckpointLoader.open(input)) {
            ConversionOptions options = options(source);
            BundleWriter.Summary summary;
            try {
                summary = BundleWriter.convert(source, input, output, options, TerminalProgress.forStderr(spec.commandLine().getErr()));
            }
            catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
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
            out.flush();
            return ExitCodes.OK;
        }
    }

    private ConversionOptions options(ModelDescription source) throws IOException {
        try {
            LayerPlan layerPlan = LayerPlans.parse(plan, window, sinks, source.config());
            QuantizationOptions quantization = switch (quant) {
                case "int8" -> new QuantizationOptions(true, parseGroup(group), quantizeEmbeddings, quantizeHead);
                case "none" -> new QuantizationOptions(false, QuantizationOptions.DEFAULT_GROUP, quantizeEmbeddings, quantizeHead);
                default -> throw new IllegalArgumentException("--quant must be int8 or none, found '" + quant + "'");
            };
            SpikeSettings.Mode mode = switch (spikeMode) {
                case "dynamic" -> SpikeSettings.Mode.DYNAMIC;
                case "off" -> SpikeSettings.Mode.OFF;
                case "static" -> SpikeSettings.Mode.STATIC;
                default -> throw new IllegalArgumentException("--spike must be dynamic or off, found '" + spikeMode + "'");
            };
            SpikeSettings.Coding spikeCoding = switch (coding) {
                case "ternary" -> SpikeSettings.Coding.TERNARY;
                case "bitwise" -> SpikeSettings.Coding.BITWISE;
                case "binary" -> SpikeSettings.Coding.BINARY;
                default -> throw new IllegalArgumentException("--coding must be ternary, bitwise or binary, found '" + coding + "'");
            };
            if (layout != null && !layout.equals("w8aspike")) {
                throw new IllegalArgumentException("--layout must be w8aspike, found '" + layout + "'");
            }
            SpikeSettings spike = new SpikeSettings(mode, k, timeSteps, spikeCoding, spikeExclude);
            return new ConversionOptions(layerPlan, quantization, spike, layout != null, parseSize(maxShardSize), force,
                    targetOptions.profiles(spec), targetOptions.manifestOptions(spec));
        }
        catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** {@code --group}: a positive number of inputs per scale, or row (0: one scale per output row). */
    static int parseGroup(String group) {
        if (group.equals("row")) {
            return 0;
        }
        try {
            int value = Integer.parseInt(group);
            if (value <= 0) {
                throw new IllegalArgumentException("--group must be a positive number or row, found " + group);
            }
            return value;
        }
        catch (NumberFormatException e) {
            throw new IllegalArgumentException("--group must be a positive number or row, found '" + group + "'");
        }
    }

    /** "5GB" (decimal) or "512MiB" (binary). */
    static long parseSize(String text) {
        Matcher matcher = SIZE.matcher(text.strip());
        if (!matcher.matches()) {
            throw new IllegalArgumentException("--max-shard-size must look like 500MB or 2GiB, found '" + text + "'");
        }
        long number = Long.parseLong(matcher.group(1));
        String unit = matcher.group(2) == null ? "B" : matcher.group(2).toUpperCase(Locale.ROOT);
        long multiplier = switch (unit) {
            case "KB" -> 1_000L;
            case "MB" -> 1_000_000L;
            case "GB" -> 1_000_000_000L;
            case "TB" -> 1_000_000_000_000L;
            case "KIB" -> 1L << 10;
            case "MIB" -> 1L << 20;
            case "GIB" -> 1L << 30;
            case "TIB" -> 1L << 40;
            default -> 1;
        };
        return Math.multiplyExact(number, multiplier);
    }
}
