package dev.spikeconv.converter.engines;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.converter.bundle.BundleWriter;
import dev.spikeconv.converter.bundle.ConversionOptions;
import dev.spikeconv.converter.bundle.ConversionProgress;
import dev.spikeconv.converter.bundle.QuantizationOptions;
import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The automatic engine: ONNX Runtime while it holds the weights as folded floats, the Java engine beyond. */
class EnginesTest {
    @TempDir
    Path directory;

    @Test
    void aBundleBeyondTheFoldLimitRunsOnTheJavaEngine() throws IOException {
        Path source = TestModels.stories260K();
        Path bundle;
        try (ModelDescription model = CheckpointLoader.open(source)) {
            assertThat(Engines.automatic(model, source, OnnxRuntimeOptions.DEFAULT)).isEqualTo(EngineKind.ONNX);
            ConversionOptions options = new ConversionOptions(LayerPlans.parse("all-swa", 64, 0, model.config()), QuantizationOptions.DEFAULT,
                    SpikeSettings.OFF, false, ConversionOptions.DEFAULT_MAX_SHARD_BYTES, false);
            bundle = BundleWriter.convert(model, source, directory.resolve("bundle"), options, ConversionProgress.NONE).output();
        }
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            assertThat(Engines.automatic(model, bundle, OnnxRuntimeOptions.DEFAULT)).isEqualTo(EngineKind.ONNX);
            // with no room for folded floats, ONNX Runtime would dequantize every weight on every run
            assertThat(Engines.automatic(model, bundle, OnnxRuntimeOptions.DEFAULT.keepingInt8())).isEqualTo(EngineKind.JAVA);
        }
    }
}
