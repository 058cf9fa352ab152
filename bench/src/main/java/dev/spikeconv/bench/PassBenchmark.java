package dev.spikeconv.bench;

import dev.spikeconv.bench.BenchReport.PassResult;
import dev.spikeconv.converter.calibration.CalibrationOptions;
import dev.spikeconv.converter.calibration.CalibrationProgress;
import dev.spikeconv.converter.calibration.Calibrator;
import dev.spikeconv.converter.calibration.ThresholdMethod;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.transfer.TransferOptions;
import dev.spikeconv.converter.verify.Goals;
import dev.spikeconv.converter.verify.Verifier;
import dev.spikeconv.converter.verify.ProbeOptions;
import dev.spikeconv.converter.verify.VerifyBaseline;
import dev.spikeconv.converter.verify.VerifyOptions;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Times calibrate's statistics pass and verify over the same tokens as plain ONNX Runtime forward
 * passes: the bundle alone for calibrate, the bundle and the dense model for verify (it must run both).
 * Every pass is timed whole, opening its models included, as a user waits for it.
 */
final class PassBenchmark {
    static final String FORWARD_BUNDLE = "forward (bundle) + load";
    static final String FORWARD_DENSE = "forward (dense) + load";
    static final String CALIBRATE = "calibrate statistics";
    static final String VERIFY = "verify";
    private static final String PLAN = "spikingbrain";
    private static final int ENGINE_TOKENS = 64;

    private PassBenchmark() {}

    static List<PassResult> run(BenchOptions options, Path checkpoint, Path folder, Consumer<String> progress) throws IOException {
        Path bundle = ContextBenchmark.convert(options, checkpoint, folder, PLAN, progress);
        int vocabulary;
        try (ModelDescription model = CheckpointLoader.open(checkpoint)) {
            vocabulary = model.config().vocabularySize();
        }
        int[] tokens = new SplittableRandom(options.seed()).ints(options.passTokens(), 0, vocabulary).toArray();
        Path data = folder.resolve("pass-tokens.txt");
        Files.writeString(data, Arrays.stream(tokens).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
        double[] forwardBundle = new double[options.repeats()];
        double[] forwardDense = new double[options.repeats()];
        double[] calibrate = new double[options.repeats()];
        double[] verify = new double[options.repeats()];
        double[] loadBundle = new double[options.repeats()];
        double[] loadDense = new double[options.repeats()];
        for (int repeat = 0; repeat < options.repeats(); repeat++) {
            // A plain forward pass as a user runs one, like calibrate and verify: open the model, then run every token.
            long start = System.nanoTime();
            try (ModelDescription model = CheckpointLoader.open(bundle);
                    OnnxRuntimeEngine engine = OnnxRuntimeEngine.open(bundle.resolve(DecoderGraphWriter.MODEL_FILE), model.config(), options.runtime())) {
                loadBundle[repeat] = (System.nanoTime() - start) / 1e9;
                forwardBundle[repeat] = loadBundle[repeat] + forward(engine, tokens, options.passSequenceLength());
            }
            start = System.nanoTime();
            try (ModelDescription model = CheckpointLoader.open(checkpoint); OnnxRuntimeEngine engine = OnnxRuntimeEngine.export(model, options.runtime())) {
                loadDense[repeat] = (System.nanoTime() - start) / 1e9;
                forwardDense[repeat] = loadDense[repeat] + forward(engine, tokens, options.passSequenceLength());
            }
            Path statistics = folder.resolve("pass-statistics-" + repeat + ".json");
            start = System.nanoTime();
            Calibrator.run(new CalibrationOptions(bundle, data, null, tokens.length, options.passSequenceLength(), options.seed(), ThresholdMethod.parse("mse"),
                    null, null, null, null, TransferOptions.NONE, null, Integer.MAX_VALUE, List.of(), statistics, true, false), CalibrationProgress.NONE);
            calibrate[repeat] = (System.nanoTime() - start) / 1e9;
            start = System.nanoTime();
            Verifier.run(new VerifyOptions(bundle, checkpoint, null, data, null, 0, tokens.length, options.passSequenceLength(), ENGINE_TOKENS, Goals.DEFAULT,
                    options.runtime(), null, false, VerifyBaseline.WITHOUT_GLA_ATTENTION, ProbeOptions.NONE, false), message -> {});
            verify[repeat] = (System.nanoTime() - start) / 1e9;
            progress.accept(String.format(Locale.ROOT, "passes: run %d of %d: forward %.2f s (load %.2f) + dense %.2f s (load %.2f), calibrate %.2f s, verify %.2f s",
                    repeat + 1, options.repeats(), forwardBundle[repeat], loadBundle[repeat], forwardDense[repeat], loadDense[repeat], calibrate[repeat],
                    verify[repeat]));
        }
        Samples bundleSamples = new Samples(forwardBundle);
        Samples denseSamples = new Samples(forwardDense);
        Samples calibrateSamples = new Samples(calibrate);
        Samples verifySamples = new Samples(verify);
        List<PassResult> results = new ArrayList<>();
        results.add(new PassResult(FORWARD_BUNDLE, tokens.length, bundleSamples, 1));
        results.add(new PassResult(FORWARD_DENSE, tokens.length, denseSamples, 1));
        results.add(new PassResult(CALIBRATE, tokens.length, calibrateSamples, bundleSamples.median() / calibrateSamples.median()));
        results.add(new PassResult(VERIFY, tokens.length, verifySamples, (bundleSamples.median() + denseSamples.median()) / verifySamples.median()));
        return results;
    }

    /** Seconds for one ONNX Runtime call per sequence, as calibrate and verify split the tokens. */
    private static double forward(OnnxRuntimeEngine engine, int[] tokens, int sequenceLength) {
        long start = System.nanoTime();
        for (int from = 0; from < tokens.length; from += sequenceLength) {
            try (OnnxRuntimeEngine.RuntimeSession session = engine.newSession()) {
                session.forward(Arrays.copyOfRange(tokens, from, Math.min(tokens.length, from + sequenceLength)));
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }
}
