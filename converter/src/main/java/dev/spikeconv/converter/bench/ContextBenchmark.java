package dev.spikeconv.converter.bench;

import dev.spikeconv.converter.bench.BenchReport.ContextResult;
import dev.spikeconv.converter.bundle.BundleWriter;
import dev.spikeconv.converter.bundle.ConversionProgress;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.GraphOptions;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
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
        List<ContextResult> results = new ArrayList<>();
        try (ModelDescription source = CheckpointLoader.open(checkpoint);
                // The strongest dense baseline ONNX Runtime offers on CPU: its own fused kernel prefills faster, the
                // standard Attention operator decodes faster (both copy the cache each step, GroupQueryAttention more slowly).
                OnnxRuntimeEngine prefill = OnnxRuntimeEngine.export(source, options.runtime(), GraphOptions.STANDARD.withFusedSoftmaxAttention(), List.of());
                OnnxRuntimeEngine decode = OnnxRuntimeEngine.export(source, options.runtime())) {
            results.addAll(measure(DENSE, prefill, decode, options, progress));
        }
        for (String plan : options.plans()) {
            Path bundle = convert(options, checkpoint, folder, plan, progress);
            try (ModelDescription model = CheckpointLoader.open(bundle);
                    OnnxRuntimeEngine engine = OnnxRuntimeEngine.open(bundle.resolve(DecoderGraphWriter.MODEL_FILE), model.config(),
                            options.runtime())) {
                results.addAll(measure(plan, engine, engine, options, progress));
            }
        }
        return results;
    }

    /** Converts the context model with {@code plan} unless that bundle exists already. */
    static Path convert(BenchOptions options, Path checkpoint, Path folder, String plan, Consumer<String> progress) throws IOException {
        // Named by the model and every conversion setting, so that a reused work folder never serves a stale bundle.
        String name = String.format(Locale.ROOT, "bundle-%s-w%d-%s-%s-of-%s", plan, options.window(),
                options.quantization().enabled() ? "int8g" + options.quantization().group() : "float",
                options.spikes().spiking() ? "k" + options.spikes().k() : "nospike", checkpoint.getFileName());
        Path bundle = folder.resolve(name.replaceAll("[^A-Za-z0-9._-]", "_"));
        if (!bundle.toFile().isDirectory()) {
            progress.accept("converting the context model: --plan " + plan);
            try (ModelDescription source = CheckpointLoader.open(checkpoint)) {
                BundleWriter.convert(source, checkpoint, bundle, ConvertBenchmark.conversionOptions(options, plan, source.config()), ConversionProgress.NONE);
            }
        }
        return bundle;
    }

    /** Prefills with {@code prefillEngine}, then decodes with {@code decodeEngine} (the same one, or a graph of the same model with the same caches). */
    private static List<ContextResult> measure(String name, OnnxRuntimeEngine prefillEngine, OnnxRuntimeEngine decodeEngine, BenchOptions options,
            Consumer<String> progress) {
        List<ContextResult> results = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(options.seed());
        int vocabulary = prefillEngine.config().vocabularySize();
        int[] warmUpTokens = random.ints(Math.min(options.prefillChunk(), options.contexts().getFirst()) + 1, 0, vocabulary).toArray();
        warmUp(prefillEngine, warmUpTokens);
        if (decodeEngine != prefillEngine) {
            warmUp(decodeEngine, warmUpTokens);
        }
        for (int context : options.contexts()) {
            double[] prefill = new double[options.repeats()];
            double[] decode = new double[options.repeats() * options.decodeTokens()];
            long cacheBytes = 0;
            for (int repeat = 0; repeat < options.repeats(); repeat++) {
                int[] tokens = random.ints(context + options.decodeTokens(), 0, vocabulary).toArray();
                try (OnnxRuntimeEngine.RuntimeSession session = prefillEngine.newSession()) {
                    long start = System.nanoTime();
                    for (int from = 0; from < context; from += options.prefillChunk()) {
                        session.forward(Arrays.copyOfRange(tokens, from, Math.min(context, from + options.prefillChunk())));
                    }
                    prefill[repeat] = (System.nanoTime() - start) / 1e9;
                    try (OnnxRuntimeEngine.RuntimeSession decoding = decodeEngine == prefillEngine ? session : session.continueIn(decodeEngine)) {
                        for (int step = 0; step < options.decodeTokens(); step++) {
                            long stepStart = System.nanoTime();
                            decoding.forward(new int[] {tokens[context + step]});
                            decode[repeat * options.decodeTokens() + step] = (System.nanoTime() - stepStart) / 1e6;
                        }
                        cacheBytes = decoding.cacheBytes();
                    }
                }
                progress.accept(String.format(Locale.ROOT, "context: %-13s %6d tokens, run %d of %d: prefill %.2f s", name, context, repeat + 1, options.repeats(),
                        prefill[repeat]));
            }
            results.add(new ContextResult(name, context, new Samples(prefill), new Samples(decode), cacheBytes));
        }
        return results;
    }

    /** One unmeasured prefill and decode step so that the first measurement does not pay for ONNX Runtime's and the JIT's first runs. */
    private static void warmUp(OnnxRuntimeEngine engine, int[] tokens) {
        try (OnnxRuntimeEngine.RuntimeSession session = engine.newSession()) {
            session.forward(Arrays.copyOf(tokens, tokens.length - 1));
            session.forward(new int[] {tokens[tokens.length - 1]});
        }
    }
}
