package dev.spikeconv.bench;

import dev.spikeconv.bench.BenchReport.ContextResult;
import dev.spikeconv.converter.bundle.BundleWriter;
import dev.spikeconv.converter.bundle.ConversionProgress;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.GraphOptions;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Prefill and decode latency against context length on ONNX Runtime, for the dense model and each
 * conversion. Every model is prefilled the same way, {@code prefillChunk} tokens per call through its
 * caches, so dense attention never holds more than chunk × context scores per head.
 */
final class ContextBenchmark {
    /** The name the dense source model has in the results. */
    static final String DENSE = "dense";

    private ContextBenchmark() {}

    static List<ContextResult> run(BenchOptions options, Path checkpoint, Path folder, Consumer<String> progress) throws IOException {
        List<Path> bundles = new ArrayList<>();
        for (String plan : options.plans()) {
            bundles.add(convert(options, checkpoint, folder, plan, progress));
        }
        List<OnnxRuntimeEngine> engines = new ArrayList<>();
        try (ModelDescription source = CheckpointLoader.open(checkpoint)) {
            List<Contender> contenders = new ArrayList<>();
            // The strongest dense baseline ONNX Runtime offers on CPU: its own fused kernel prefills faster, the
            // standard Attention operator decodes faster (both copy the cache each step, GroupQueryAttention more slowly).
            OnnxRuntimeEngine densePrefill = open(engines, () -> OnnxRuntimeEngine.export(source, options.runtime(), GraphOptions.STANDARD.withFusedSoftmaxAttention(),
                    List.of()));
            OnnxRuntimeEngine denseDecode = open(engines, () -> OnnxRuntimeEngine.export(source, options.runtime()));
            contenders.add(new Contender(DENSE, densePrefill, denseDecode));
            for (int index = 0; index < bundles.size(); index++) {
                Path bundle = bundles.get(index);
                ModelConfig config;
                try (ModelDescription model = CheckpointLoader.open(bundle)) {
                    config = model.config();
                }
                OnnxRuntimeEngine engine = open(engines, () -> OnnxRuntimeEngine.open(bundle.resolve(DecoderGraphWriter.MODEL_FILE), config, options.runtime()));
                contenders.add(new Contender(options.plans().get(index), engine, engine));
            }
            return measure(contenders, options, progress);
        }
        finally {
            engines.forEach(OnnxRuntimeEngine::close);
        }
    }

    /** A model in the comparison: prefilled with one engine, decoded with the same one or a graph of the same model with the same caches. */
    private record Contender(String name, OnnxRuntimeEngine prefill, OnnxRuntimeEngine decode) {}

    @FunctionalInterface
    private interface EngineOpener {
        OnnxRuntimeEngine open() throws IOException;
    }

    /** Opens an engine and keeps it in {@code engines}, which are all closed at the end, also when a later one fails. */
    private static OnnxRuntimeEngine open(List<OnnxRuntimeEngine> engines, EngineOpener opener) throws IOException {
        OnnxRuntimeEngine engine = opener.open();
        engines.add(engine);
        return engine;
    }

    /**
     * Converts the context model with {@code plan}, on every run even where a work folder holds that bundle already:
     * the bundle carries its graph, and one written by an older spikeconv would be measured instead of this one's.
     */
    static Path convert(BenchOptions options, Path checkpoint, Path folder, String plan, Consumer<String> progress) throws IOException {
        String name = String.format(Locale.ROOT, "bundle-%s-w%d-%s-%s-of-%s", plan, options.window(),
                options.quantization().enabled() ? "int8g" + options.quantization().group() : "float",
                options.spikes().spiking() ? "k" + options.spikes().k() : "nospike", checkpoint.getFileName());
        Path bundle = folder.resolve(name.replaceAll("[^A-Za-z0-9._-]", "_"));
        progress.accept("converting the context model: --plan " + plan);
        try (ModelDescription source = CheckpointLoader.open(checkpoint)) {
            BundleWriter.convert(source, checkpoint, bundle, ConvertBenchmark.conversionOptions(options, plan, source.config()), ConversionProgress.NONE);
        }
        return bundle;
    }

    /**
     * Every context, every repeat, every model in turn on the same tokens: the machine's speed drifts over minutes, and
     * interleaving lets the drift fall on all models alike instead of on whichever ran in a slow stretch.
     */
    private static List<ContextResult> measure(List<Contender> contenders, BenchOptions options, Consumer<String> progress) {
        SplittableRandom random = new SplittableRandom(options.seed());
        int vocabulary = contenders.getFirst().prefill().config().vocabularySize();
        int[] warmUpTokens = random.ints(Math.min(options.prefillChunk(), options.contexts().getFirst()) + 1, 0, vocabulary).toArray();
        for (Contender contender : contenders) {
            warmUp(contender.prefill(), warmUpTokens);
            if (contender.decode() != contender.prefill()) {
                warmUp(contender.decode(), warmUpTokens);
            }
        }
        Map<String, List<ContextResult>> byModel = new LinkedHashMap<>();
        contenders.forEach(contender -> byModel.put(contender.name(), new ArrayList<>()));
        for (int context : options.contexts()) {
            double[][] prefill = new double[contenders.size()][options.repeats()];
            double[][] decode = new double[contenders.size()][options.repeats() * options.decodeTokens()];
            long[] cacheBytes = new long[contenders.size()];
            for (int repeat = 0; repeat < options.repeats(); repeat++) {
                int[] tokens = random.ints(context + options.decodeTokens(), 0, vocabulary).toArray();
                for (int index = 0; index < contenders.size(); index++) {
                    Contender contender = contenders.get(index);
                    cacheBytes[index] = runOnce(contender, tokens, context, options, prefill[index], repeat, decode[index]);
                    progress.accept(String.format(Locale.ROOT, "context: %-13s %6d tokens, run %d of %d: prefill %.2f s", contender.name(), context, repeat + 1,
                            options.repeats(), prefill[index][repeat]));
                }
            }
            for (int index = 0; index < contenders.size(); index++) {
                byModel.get(contenders.get(index).name())
                        .add(new ContextResult(contenders.get(index).name(), context, new Samples(prefill[index]), new Samples(decode[index]), cacheBytes[index]));
            }
        }
        return byModel.values().stream().flatMap(List::stream).toList();
    }

    /**
     * Prefills {@code context} tokens in calls of the prefill chunk, then decodes the rest one at a time; stores the
     * prefill seconds at {@code prefill[repeat]} and each step's milliseconds in {@code decode}, returns the cache bytes.
     */
    private static long runOnce(Contender contender, int[] tokens, int context, BenchOptions options, double[] prefill, int repeat, double[] decode) {
        try (OnnxRuntimeEngine.RuntimeSession session = contender.prefill().newSession()) {
            long start = System.nanoTime();
            for (int from = 0; from < context; from += options.prefillChunk()) {
                session.forward(Arrays.copyOfRange(tokens, from, Math.min(context, from + options.prefillChunk())));
            }
            prefill[repeat] = (System.nanoTime() - start) / 1e9;
            try (OnnxRuntimeEngine.RuntimeSession decoding = contender.decode() == contender.prefill() ? session : session.continueIn(contender.decode())) {
                for (int step = 0; step < options.decodeTokens(); step++) {
                    long stepStart = System.nanoTime();
                    decoding.forward(new int[] {tokens[context + step]});
                    decode[repeat * options.decodeTokens() + step] = (System.nanoTime() - stepStart) / 1e6;
                }
                return decoding.cacheBytes();
            }
        }
    }

    /** One unmeasured prefill and decode step so that the first measurement does not pay for ONNX Runtime's and the JIT's first runs. */
    private static void warmUp(OnnxRuntimeEngine engine, int[] tokens) {
        try (OnnxRuntimeEngine.RuntimeSession session = engine.newSession()) {
            session.forward(Arrays.copyOf(tokens, tokens.length - 1));
            session.forward(new int[] {tokens[tokens.length - 1]});
        }
    }
}
