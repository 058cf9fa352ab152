package dev.spikeconv.converter.bundle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.formats.CheckpointLoader;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The hybrid layer kind (windowed softmax beside GLA, one o_proj over both): converted, it is exactly its sliding window
 * (the GLA heads' o_proj columns start at zero); with a window covering the sequence it is softmax; with a readout of the
 * GLA heads both engines compute the same thing, in prefill and in decode.
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
     * Exact in the Java engine: the zero columns add exact zeros lane by lane (the heads' width, 16, is a multiple of every
     * vector length); ONNX Runtime's product may block the longer rows differently, so there it is float rounding.
     */
    @Test
    void aHybridWhoseLinearReadoutIsZeroIsItsSlidingWindow() throws IOException {
        TinyModel model = TinyModels.llama();
        Path hybrid = Bundles.convert(model, directory, "hybrid", Bundles.options(everyLayer(model, "hybrid/6+1"), 1, 0, QuantizationOptions.NONE,
                SpikeSettings.OFF, model));
        Path window = Bundles.convert(model, directory, "window", Bundles.options(everyLayer(model, "swa/6+1"), 1, 0, QuantizationOptions.NONE,
                SpikeSettings.OFF, model));
        assertThat(Bundles.logits(hybrid, EngineKind.JAVA, TOKENS)).isEqualTo(Bundles.logits(window, EngineKind.JAVA, TOKENS));
        assertThat(Bundles.maximumDifference(Bundles.logits(hybrid, EngineKind.ONNX, TOKENS), Bundles.logits(window, EngineKind.ONNX, TOKENS)))
                .isLessThan(1e-5);
    }

    @Test
    void aHybridWhoseWindowCoversTheSequenceIsSoftmax() throws IOException {
        TinyModel model = TinyModels.llama();
        Path hybrid = Bundles.convert(model, directory, "hybrid", Bundles.options(everyLayer(model, "hybrid/" + TOKENS.length), 1, 0,
                QuantizationOptions.NONE, SpikeSettings.OFF, model));
        Path dense = Bundles.convert(model, directory, "dense", Bundles.options("dense", 1, 0, QuantizationOptions.NONE, SpikeSettings.OFF, model));
        for (EngineKind kind : EngineKind.values()) {
            assertThat(Bundles.maximumDifference(Bundles.logits(hybrid, kind, TOKENS), Bundles.logits(dense, kind, TOKENS))).as(kind.name())
                    .isLessThan(1e-5);
        }
    }

    /** With random readout columns for the GLA heads, the linear branch counts: the engines agree on it and decode as they prefill. */
    @ParameterizedTest(name = "spiking {0}")
    @ValueSource(booleans = {false, true})
    void withALinearReadoutTheEnginesAgree(boolean spiking) throws IOException {
        TinyModel model = TinyModels.qwen2();
        SpikeSettings spike = spiking ? Bundles.DYNAMIC : SpikeSettings.OFF;
        Path bundle = Bundles.convert(model, directory, "hybrid", Bundles.options("0:hybrid/6+1,1:swa/9", 1, 0, QuantizationOptions.NONE, spike, model));
        float[][] before = Bundles.logits(bundle, EngineKind.JAVA, TOKENS);
        String name = LayerTensor.OUTPUT_WEIGHT.name(0);
        try (ModelDescription description = CheckpointLoader.open(bundle); BundleTransaction transaction = BundleTransaction.begin(bundle, note -> { })) {
            float[] weight = description.tensor(name).toFloats();
            Shape shape = description.tensor(name).shape();
            int columns = Math.toIntExact(shape.columns());
            SplittableRandom random = new SplittableRandom(5);
            for (int row = 0; row < shape.dimension(0); row++) {
                for (int column = columns / 2; column < columns; column++) {
                    weight[row * columns + column] = (float) random.nextGaussian(0, 0.5);
                }
            }
            transaction.put(name, StoredTensor.ofFloats(name, shape, weight));
            transaction.commit(ConversionProgress.NONE);
        }
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
}
