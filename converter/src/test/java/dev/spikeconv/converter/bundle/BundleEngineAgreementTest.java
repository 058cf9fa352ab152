package dev.spikeconv.converter.bundle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.metrics.Divergence;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bundle's ONNX graph (chunked GLA, window caches, int8 and spiking projections) against the Java
 * reference (recurrent GLA, full attention with masks), for every plan and spike mode; and cached decode
 * against one prefill. Float models are compared by maximum logit difference, spiking ones by KL and
 * top-1 agreement, since a spike count may flip at a .5 boundary between two engines (DESIGN §4).
 */
class BundleEngineAgreementTest {
    /** Longer than two GLA chunks of 64, so chunking and padding are exercised. */
    private static final int[] TOKENS = Bundles.tokens(150, 40, 3);

    @TempDir
    Path directory;

    static Stream<Arguments> plansAndModes() {
        List<Arguments> cases = new ArrayList<>();
        String[] plans = {"dense", "all-gla", "all-swa", "alternate", "0:swa/5+2,1:gla"};
        for (String plan : plans) {
            for (boolean spiking : new boolean[] {false, true}) {
                cases.add(Arguments.of(plan, spiking));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, spiking {1}")
    @MethodSource("plansAndModes")
    void onnxRuntimeAgreesWithTheReference(String plan, boolean spiking) throws IOException {
        TinyModel model = TinyModels.qwen2();
        SpikeSettings spike = spiking ? Bundles.DYNAMIC : SpikeSettings.OFF;
        QuantizationOptions quantization = new QuantizationOptions(true, 8, false, false);
        Path bundle = Bundles.convert(model, directory, "bundle", Bundles.options(plan, 12, 1, quantization, spike, model));
        float[][] onnx = Bundles.logits(bundle, EngineKind.ONNX, TOKENS);
        float[][] java = Bundles.logits(bundle, EngineKind.JAVA, TOKENS);
        float[][] stepwise = Bundles.stepwiseLogits(bundle, EngineKind.ONNX, TOKENS, 7);
        if (spiking) {
            assertThat(Divergence.meanKullbackLeibler(java, onnx)).as("KL java vs onnx").isLessThan(1e-3);
            assertThat(Divergence.topOneAgreement(java, onnx)).isGreaterThanOrEqualTo(0.97);
            assertThat(Divergence.meanKullbackLeibler(onnx, stepwise)).as("KL prefill vs decode").isLessThan(1e-3);
        }
        else {
            assertThat(Bundles.maximumDifference(java, onnx)).as("java vs onnx").isLessThan(1e-4);
            assertThat(Bundles.maximumDifference(onnx, stepwise)).as("prefill vs decode").isLessThan(1e-4);
        }
    }

    @Test
    void perRowInt8WeightsAndFloatSpikingWeightsAgreeToo() throws IOException {
        TinyModel model = TinyModels.llama();
        for (QuantizationOptions quantization : new QuantizationOptions[] {new QuantizationOptions(true, 0, true, true), QuantizationOptions.NONE}) {
            Path bundle = Bundles.convert(model, directory, "bundle-" + quantization.enabled(),
                    Bundles.options("alternate", 9, 0, quantization, Bundles.DYNAMIC, model));
            float[][] onnx = Bundles.logits(bundle, EngineKind.ONNX, TOKENS);
            float[][] java = Bundles.logits(bundle, EngineKind.JAVA, TOKENS);
            assertThat(Divergence.meanKullbackLeibler(java, onnx)).isLessThan(1e-3);
        }
    }

    @Test
    void aWindowCoveringTheSequenceIsSoftmaxAttention() throws IOException {
        TinyModel model = TinyModels.llama();
        QuantizationOptions none = QuantizationOptions.NONE;
        Path dense = Bundles.convert(model, directory, "dense", Bundles.options("dense", 1, 0, none, SpikeSettings.OFF, model));
        Path window = Bundles.convert(model, directory, "window", Bundles.options("all-swa", TOKENS.length, 0, none, SpikeSettings.OFF, model));
        Path shortWindow = Bundles.convert(model, directory, "short", Bundles.options("all-swa", 6, 0, none, SpikeSettings.OFF, model));
        for (EngineKind kind : EngineKind.values()) {
            float[][] reference = Bundles.logits(dense, kind, TOKENS);
            assertThat(Bundles.maximumDifference(reference, Bundles.logits(window, kind, TOKENS))).as(kind.name()).isLessThan(1e-5);
            assertThat(Bundles.maximumDifference(reference, Bundles.logits(shortWindow, kind, TOKENS))).as(kind.name()).isGreaterThan(1e-3);
        }
    }
}
