package dev.spikeconv.bench;

import dev.spikeconv.bench.BenchReport.ScaleResult;
import dev.spikeconv.bench.BenchReport.ScaleStep;
import dev.spikeconv.bench.SyntheticCheckpoint.Dimensions;
import dev.spikeconv.formats.tensor.DType;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * The scale section: a generated Llama-shaped bf16 checkpoint (7B- or 1B-class) through convert, calibrate, verify, run
 * and generate, each step as its own spikeconv process started the way a user starts one (same JVM and options), so
 * that its wall time, peak Java heap (from its collector's log) and peak anonymous resident memory (sampled from
 * /proc) are its own. Operation rates count one forward pass of the step's tokens: {@code 2 · matrix weights · tokens}.
 */
final class ScaleBenchmark {
    /** The command line's entry point, named here because the bench module sits below it and starts it as a process. */
    private static final String MAIN_CLASS = "dev.spikeconv.cli.Spikeconv";
    private static final Pattern HEAP_BEFORE_COLLECTION = Pattern.compile("(\\d+)M->(\\d+)M\\((\\d+)M\\)");
    private static final long SAMPLE_MILLIS = 200;

    private ScaleBenchmark() {}

    static ScaleResult run(BenchOptions options, Path folder, Consumer<String> progress) throws IOException, InterruptedException {
        Dimensions model = options.scaleModel();
        String name = String.format(Locale.ROOT, "scale-model-h%d-i%d-l%d-a%d-kv%d-v%d-s%d", model.hiddenSize(), model.intermediateSize(), model.layers(),
                model.heads(), model.keyValueHeads(), model.vocabularySize(), options.seed());
        Path checkpoint = folder.resolve(name);
        if (!Files.isDirectory(checkpoint)) {
            progress.accept(String.format(Locale.ROOT, "scale: generating a bf16 checkpoint of %.2fB parameters", model.parameterCount() / 1e9));
            Path partial = checkpoint.resolveSibling(name + ".partial");
            Benchmarks.deleteTree(partial);
            SyntheticCheckpoint.write(partial, model, DType.BF16, options.seed());
            Files.move(partial, checkpoint, StandardCopyOption.ATOMIC_MOVE);
        }
        int calibrationTokens = options.scaleTokens();
        Path ids = folder.resolve("scale-ids.txt");
        SplittableRandom random = new SplittableRandom(options.seed());
        Files.writeString(ids, IntStream.range(0, calibrationTokens + 1024).mapToObj(i -> Integer.toString(1 + random.nextInt(model.vocabularySize() - 1)))
                .collect(Collectors.joining(" ")) + "\n");
        String runTokens = IntStream.range(0, 512).mapToObj(i -> Integer.toString(1 + (i * 7919) % (model.vocabularySize() - 1))).collect(Collectors.joining(","));
        Path bundle = folder.resolve("scale-bundle");
        Benchmarks.deleteTree(bundle);
        long matrixWeights = matrixWeights(model);
        List<ScaleStep> steps = new ArrayList<>();
        String source = checkpoint.toString();
        String target = bundle.toString();
        steps.add(step("convert", folder, progress, 0, matrixWeights, "convert", source, "-o", target, "--plan", "spikingbrain"));
        steps.add(step("calibrate", folder, progress, calibrationTokens, matrixWeights, "calibrate", target, "--reference", source, "--data", ids.toString(),
                "--tokens", Integer.toString(calibrationTokens), "--seq-len", "512", "--checkpoint", folder.resolve("scale-calibrate-checkpoint").toString()));
        steps.add(step("verify", folder, progress, 512, matrixWeights, "verify", target, "--reference", source, "--data", ids.toString(), "--skip-tokens",
                Integer.toString(calibrationTokens), "--tokens", "512", "--max-kl", "1e9", "--max-kl-p99", "1e9", "--min-top1", "0", "--max-ppl-ratio", "1e9",
                "--allow-useless-linear-branch"));
        steps.add(step("run", folder, progress, 512, matrixWeights, "run", target, "--tokens", runTokens));
        steps.add(step("generate", folder, progress, 64, matrixWeights, "generate", target, "--prompt", "", "--max-tokens", "64", "--temperature", "0"));
        long checkpointBytes = folderBytes(checkpoint);
        long bundleBytes = folderBytes(bundle);
        return new ScaleResult(model, model.parameterCount(), checkpointBytes, bundleBytes, calibrationTokens, steps);
    }

    /** Weights of the matrix products of one token's forward pass: every projection and the output head. */
    static long matrixWeights(Dimensions model) {
        long keyValue = (long) model.keyValueHeads() * model.headDimension();
        long perLayer = 2L * model.hiddenSize() * model.hiddenSize() + 2L * model.hiddenSize() * keyValue + 3L * model.hiddenSize() * model.intermediateSize();
        return model.layers() * perLayer + (long) model.vocabularySize() * model.hiddenSize();
    }

    private static ScaleStep step(String name, Path folder, Consumer<String> progress, int tokens, long matrixWeights, String... arguments)
            throws IOException, InterruptedException {
        Path gcLog = folder.resolve("scale-" + name + ".gc.log");
        Path output = folder.resolve("scale-" + name + ".out");
        Path errors = folder.resolve("scale-" + name + ".err");
        Files.deleteIfExists(gcLog);
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        // The launcher's stderr hand-over (-Dspikeconv.stderr) is for its own process: a child's stderr is a file here.
        ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(argument -> !argument.startsWith("-Xlog")
                && !argument.startsWith("-XX:StartFlightRecording") && !argument.startsWith("-agentlib") && !argument.startsWith("-Dspikeconv.stderr"))
                .forEach(command::add);
        command.add("-Xlog:gc:file=" + gcLog);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(MAIN_CLASS);
        command.addAll(List.of(arguments));
        progress.accept("scale: " + name + " ...");
        long start = System.nanoTime();
        Process process = new ProcessBuilder(command).redirectOutput(output.toFile()).redirectError(errors.toFile()).start();
        long anonymousPeak = 0;
        while (!process.waitFor(SAMPLE_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            anonymousPeak = Math.max(anonymousPeak, anonymousResident(process.pid()).orElse(0));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long heapPeak = heapPeak(gcLog);
        double gigaOperations = tokens == 0 ? Double.NaN : 2.0 * matrixWeights * tokens / 1e9;
        ScaleStep step = new ScaleStep(name, process.exitValue(), seconds, heapPeak, anonymousPeak, gigaOperations);
        progress.accept(String.format(Locale.ROOT, "scale: %s exit %d in %.1f s, peak heap %.2f GiB, peak anonymous RSS %.2f GiB", name, step.exitCode(), seconds,
                heapPeak / (double) (1L << 30), anonymousPeak / (double) (1L << 30)));
        return step;
    }

    /** RssAnon of a running process, from /proc (empty once it has ended or off Linux). */
    private static OptionalLong anonymousResident(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"), StandardCharsets.US_ASCII)) {
                if (line.startsWith("RssAnon:")) {
                    return OptionalLong.of(Long.parseLong(line.replaceAll("\\D", "")) * 1024);
                }
            }
        }
        catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.empty();
    }

    /** The most heap in use just before a collection (the heap only grows between them), from the log {@code -Xlog:gc} wrote. */
    private static long heapPeak(Path gcLog) throws IOException {
        if (!Files.exists(gcLog)) {
            return -1;
        }
        long peak = 0;
        for (String line : Files.readAllLines(gcLog, StandardCharsets.UTF_8)) {
            Matcher matcher = HEAP_BEFORE_COLLECTION.matcher(line);
            while (matcher.find()) {
                peak = Math.max(peak, Long.parseLong(matcher.group(1)) << 20);
            }
        }
        return peak;
    }

    private static long folderBytes(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(folder)) {
            return files.filter(Files::isRegularFile).mapToLong(path -> {
                try {
                    return Files.size(path);
                }
                catch (IOException e) {
                    return 0;
                }
            }).sum();
        }
    }
}
