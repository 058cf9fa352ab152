package dev.spikeconv.converter.bundle;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.verify.Goals;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The hybrid layer kind (windowed softmax and linear attention over the older keys under one normalizer): converted, it is
 * exactly its sliding window (β starts at zero); with a window covering the sequence it is softmax; with β set both engines
 * compute the same thing, in prefill and in decode.
 */
class HybridLayerBundleTest {
    /** Several GLA chunks of 32 and a partial one, longer than every window here. */
    private static final int[] TOKENS = Bundles.tokens(70, 40, 11);

    @TempDir
    Path directory;

    private static String everyLayer(TinyModel model, String kind) {
        return "0-" + (model.config().layerCount() - 1) + ":" + kind;
    }

    /**
     * Exact in the Java engine, which skips a zero β. ONNX Runtime adds the linear weights, exact zeros, before its product
     * with the values, which it may block differently from the sliding window's Attention kernel: float rounding there.
     */
    @Test
    void aHybridWhoseLinearScaleIsZeroIsItsSlidingWindow() throws IOException {
        TinyModel model = TinyModels.llama();
        Path hybrid = Bundles.convert(model, directory, "hybrid", Bundles.options(everyLayer(model, "hybrid/6+1"), 1, 0, QuantizationOptions.NONE,
                SpikeSettings.OFF, model));
        Path window = Bundles.convert(model, directory, "window", Bundles.options(everyLayer(model, "swa/6+1"), 1, 0, QuantizationOptions.NONE,
                SpikeSettings.OFF, model));
        assertThat(Bundles.logits(hybrid, EngineKind.JAVA, TOKENS)).isEqualTo(Bundles.logits(window, EngineKind.JAVA, TOKENS));
        // the config tells SpikingBrain's users which layers their loaders cannot read
        JsonNode hybridConfig = JsonDocuments.read(hybrid.resolve("config.json"), 1 << 20).path("spikeconv");
        assertThat(hybridConfig.path("spikingbrain_loadable").asBoolean(true)).isFalse();
        assertThat(hybridConfig.path("spikeconv_only_layers")).hasSize(model.config().layerCount());
        JsonNode windowConfig = JsonDocuments.read(window.resolve("config.json"), 1 << 20).path("spikeconv");
        assertThat(windowConfig.path("spikingbrain_loadable").asBoolean(false)).isTrue();
        assertThat(windowConfig.path("spikeconv_only_layers")).isEmpty();
        assertThat(Bundles.maximumDifference(Bundles.logits(hybrid, EngineKind.ONNX, TOKENS), Bundles.logits(window, EngineKind.ONNX, TOKENS)))
                .isLessThan(1e-4);
    }

    /** Exact in the Java engine; ONNX Runtime's softmax kernel and the hybrid's explicit products differ by float rounding. */
    @Test
    void aHybridWhoseWindowCoversTheSequenceIsSoftmax() throws IOException {
        TinyModel model = TinyModels.llama();
        Path hybrid = Bundles.convert(model, directory, "hybrid", Bundles.options(everyLayer(model, "hybrid/" + TOKENS.length), 1, 0,
                QuantizationOptions.NONE, SpikeSettings.OFF, model));
        setLinearScales(hybrid, () -> 1);
        Path dense = Bundles.convert(model, directory, "dense", Bundles.options("dense", 1, 0, QuantizationOptions.NONE, SpikeSettings.OFF, model));
        assertThat(Bundles.logits(hybrid, EngineKind.JAVA, TOKENS)).isEqualTo(Bundles.logits(dense, EngineKind.JAVA, TOKENS));
        assertThat(Bundles.maximumDifference(Bundles.logits(hybrid, EngineKind.ONNX, TOKENS), Bundles.logits(dense, EngineKind.ONNX, TOKENS)))
                .isLessThan(1e-4);
    }

    /** With random linear scales and feature biases the older keys count: the engines agree on them and decode as they prefill. */
    @ParameterizedTest(name = "spiking {0}")
    @ValueSource(booleans = {false, true})
    void withLinearScalesTheEnginesAgree(boolean spiking) throws IOException {
        TinyModel model = TinyModels.qwen2();
        SpikeSettings spike = spiking ? Bundles.DYNAMIC : SpikeSettings.OFF;
        Path bundle = Bundles.convert(model, directory, "hybrid", Bundles.options("0:hybrid/6+1,1:swa/9", 1, 0, QuantizationOptions.NONE, spike, model));
        float[][] before = Bundles.logits(bundle, EngineKind.JAVA, TOKENS);
        SplittableRandom random = new SplittableRandom(5);
        setLinearScales(bundle, () -> random.nextDouble(0.5, 4));
        set(bundle, LayerTensor.FEATURE_BIAS, () -> random.nextGaussian(0, 0.5));
        float[][] java = Bundles.logits(bundle, EngineKind.JAVA, TOKENS);
        assertThat(Bundles.maximumDifference(before, java)).as("the linear branch changes the logits").isGreaterThan(1e-2);
        float[][] onnx = Bundles.logits(bundle, EngineKind.ONNX, TOKENS);
        if (spiking) {
            Bundles.assertEnginesAgree(bundle, TOKENS);
        }
        else {
            assertThat(Bundles.maximumDifference(java, onnx)).as("java vs onnx").isLessThan(1e-4);
            assertThat(Bundles.maximumDifference(onnx, Bundles.stepwiseLogits(bundle, EngineKind.ONNX, TOKENS, 7))).as("prefill vs decode").isLessThan(1e-4);
            assertThat(Bundles.maximumDifference(java, Bundles.stepwiseLogits(bundle, EngineKind.JAVA, TOKENS, 7))).as("java decode").isLessThan(1e-4);
        }
    }

    /** With Qwen3's q/k norms (applied before the rotation) the engines agree on a hybrid with β and biases set, in prefill and decode. */
    @Test
    void withQueryKeyNormsTheEnginesAgree() throws IOException {
        TinyModel model = TinyModels.qwen3();
        Path bundle = Bundles.convert(model, directory, "hybrid", Bundles.options("0:hybrid/6+1,1:swa/9", 1, 0, QuantizationOptions.NONE, SpikeSettings.OFF,
                model));
        SplittableRandom random = new SplittableRandom(9);
        setLinearScales(bundle, () -> random.nextDouble(0.5, 4));
        set(bundle, LayerTensor.FEATURE_BIAS, () -> random.nextGaussian(0, 0.5));
        float[][] java = Bundles.logits(bundle, EngineKind.JAVA, TOKENS);
        assertThat(Bundles.maximumDifference(java, Bundles.logits(bundle, EngineKind.ONNX, TOKENS))).isLessThan(1e-4);
        assertThat(Bundles.maximumDifference(java, Bundles.stepwiseLogits(bundle, EngineKind.ONNX, TOKENS, 5))).isLessThan(1e-4);
    }

    /**
     * A prompt longer than the ONNX engine's call passes through in pieces (its prefill memory stays linear): the window's
     * cache and the state cross each boundary as in decode, so the logits are the Java engine's, within verify's engine
     * goal (the two engines add a thousand keys' features in different orders).
     */
    @Test
    void aLongPromptRunsInPieces() throws IOException {
        TinyModel model = TinyModels.qwen2();
        int[] tokens = Bundles.tokens(OnnxRuntimeEngine.PREFILL_PIECE + 90, 40, 13);
        Path bundle = Bundles.convert(model, directory, "hybrid", Bundles.options("0:hybrid/6+1,1:swa/9", 1, 0, QuantizationOptions.NONE, SpikeSettings.OFF,
                model));
        SplittableRandom random = new SplittableRandom(7);
        setLinearScales(bundle, () -> random.nextDouble(0.5, 4));
        set(bundle, LayerTensor.FEATURE_BIAS, () -> random.nextGaussian(0, 0.5));
        assertThat(Bundles.maximumDifference(Bundles.logits(bundle, EngineKind.JAVA, tokens), Bundles.logits(bundle, EngineKind.ONNX, tokens)))
                .isLessThan(Goals.DEFAULT.maxEngineDifference());
    }

    /** Sets the β of every head of every hybrid layer in the bundle, one {@code scales} value each. */
    private static void setLinearScales(Path bundle, DoubleSupplier scales) throws IOException {
        set(bundle, LayerTensor.LINEAR_SCALE, scales);
    }

    /** Sets every value of {@code tensor} in every hybrid layer of the bundle, one {@code values} value each. */
    private static void set(Path bundle, LayerTensor tensor, DoubleSupplier values) throws IOException {
        try (ModelDescription description = CheckpointLoader.open(bundle); BundleTransaction transaction = BundleTransaction.begin(bundle, note -> { })) {
            for (int layer = 0; layer < description.config().layerCount(); layer++) {
                String name = tensor.name(layer);
                if (description.tensors().containsKey(name)) {
                    Shape shape = description.tensor(name).shape();
                    float[] replaced = new float[Math.toIntExact(shape.elementCount())];
                    for (int i = 0; i < replaced.length; i++) {
                        replaced[i] = (float) values.getAsDouble();
                    }
                    transaction.put(name, StoredTensor.ofFloats(name, shape, replaced));
                }
            }
            transaction.commit(ConversionProgress.NONE);
        }
    }
}
