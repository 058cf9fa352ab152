package dev.spikeconv.converter.bundle;

import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.engines.Engines;
import dev.spikeconv.converter.execution.InferenceEngine;
import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.converter.verify.EngineAgreementCheck;
import dev.spikeconv.converter.verify.VerifyReport;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.TinyModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Test helpers: convert tiny models and run models on either engine. */
final class Bundles {
    static final SpikeSettings DYNAMIC = new SpikeSettings(SpikeSettings.Mode.DYNAMIC, 3, 127, SpikeSettings.Coding.TERNARY, List.of());

    private Bundles() {}

    static ConversionOptions options(String plan, int window, int sinks, QuantizationOptions quantization, SpikeSettings spike, TinyModel model) {
        return new ConversionOptions(LayerPlans.parse(plan, window, sinks, model.config()), quantization, spike, false,
                ConversionOptions.DEFAULT_MAX_SHARD_BYTES, false);
    }

    /** Writes {@code model} as safetensors under {@code directory} and converts it into {@code directory/name}. */
    static Path convert(TinyModel model, Path directory, String name, ConversionOptions options) throws IOException {
        Path source = directory.resolve(name + "-source");
        if (!Files.exists(source)) {
            CheckpointWriters.writeSafetensors(model, source, DType.F32, 1);
        }
        try (ModelDescription description = CheckpointLoader.open(source)) {
            return BundleWriter.convert(description, source, directory.resolve(name), options, ConversionProgress.NONE).output();
        }
    }

    static float[][] logits(Path model, EngineKind kind, int[] tokens) throws IOException {
        try (ModelDescription description = CheckpointLoader.open(model);
                InferenceEngine engine = Engines.open(description, model, kind, OnnxRuntimeOptions.DEFAULT);
                InferenceSession session = engine.newSession()) {
            return session.forward(tokens);
        }
    }

    /** The same tokens fed in pieces of {@code step}, so every cache and state is carried between runs. */
    static float[][] stepwiseLogits(Path model, EngineKind kind, int[] tokens, int step) throws IOException {
        try (ModelDescription description = CheckpointLoader.open(model);
                InferenceEngine engine = Engines.open(description, model, kind, OnnxRuntimeOptions.DEFAULT);
                InferenceSession session = engine.newSession()) {
            float[][] all = new float[tokens.length][];
            for (int start = 0; start < tokens.length; start += step) {
                float[][] part = session.forward(java.util.Arrays.copyOfRange(tokens, start, Math.min(tokens.length, start + step)));
                System.arraycopy(part, 0, all, start, part.length);
            }
            return all;
        }
    }

    /**
     * The bundle's own graph against the Java reference as verify measures it ({@link EngineAgreementCheck}): per-site
     * spike counts from the same activations, and logits with both engines on the same counts.
     */
    static VerifyReport.EngineAgreement agreement(Path bundle, int[] tokens) throws IOException {
        try (ModelDescription description = CheckpointLoader.open(bundle)) {
            return EngineAgreementCheck.measure(description, OnnxRuntimeEngine.readGraph(bundle.resolve(DecoderGraphWriter.MODEL_FILE)), bundle,
                    OnnxRuntimeOptions.DEFAULT, tokens, false);
        }
    }

    /**
     * Engines agree as exact properties, not tolerances tuned to a CPU: every differing spike count lies within 1e-4 of
     * its rounding edge (a flip of float rounding, not a different rule), and on the same counts the logits differ by float
     * rounding only.
     */
    static void assertEnginesAgree(Path bundle, int[] tokens) throws IOException {
        VerifyReport.EngineAgreement agreement = agreement(bundle, tokens);
        org.assertj.core.api.Assertions.assertThat(agreement.largestEdgeDistance()).as("largest flip distance at %s", agreement.worstSite()).isLessThan(1e-4);
        org.assertj.core.api.Assertions.assertThat(agreement.identicalCountShare()).isGreaterThanOrEqualTo(0.999);
        org.assertj.core.api.Assertions.assertThat(agreement.largestLogitDifference()).as("logits on the same counts").isLessThan(1e-4);
    }

    static int[] tokens(int count, int vocabulary, long seed) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        int[] tokens = new int[count];
        tokens[0] = 1;
        for (int i = 1; i < count; i++) {
            tokens[i] = random.nextInt(vocabulary);
        }
        return tokens;
    }

    static double maximumDifference(float[][] first, float[][] second) {
        double maximum = 0;
        for (int t = 0; t < first.length; t++) {
            for (int v = 0; v < first[t].length; v++) {
                maximum = Math.max(maximum, Math.abs(first[t][v] - second[t][v]));
            }
        }
        return maximum;
    }
}
