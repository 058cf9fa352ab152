package dev.spikeconv.bench;

import dev.spikeconv.converter.bundle.BundleWriter;
import dev.spikeconv.converter.bundle.ConversionOptions;
import dev.spikeconv.converter.bundle.ConversionProgress;
import dev.spikeconv.converter.bundle.QuantizationOptions;
import dev.spikeconv.converter.calibration.CalibrationOptions;
import dev.spikeconv.converter.calibration.CalibrationProgress;
import dev.spikeconv.converter.calibration.Calibrator;
import dev.spikeconv.converter.calibration.ThresholdMethod;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.converter.transfer.TransferOptions;
import dev.spikeconv.converter.verify.Goals;
import dev.spikeconv.converter.verify.Verifier;
import dev.spikeconv.converter.verify.ProbeOptions;
import dev.spikeconv.converter.verify.VerifyBaseline;
import dev.spikeconv.converter.verify.VerifyOptions;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import java.nio.file.Path;
import java.util.List;

/**
 * Convert, calibrate (attention transfer and thresholds) and verify of one checkpoint, for {@link SmallHeapTest} to run
 * in a JVM with a heap far smaller than the model: {@code SOURCE BUNDLE TOKEN_IDS}.
 */
final class SmallHeapSteps {
    private SmallHeapSteps() {}

    public static void main(String[] arguments) throws Exception {
        Path source = Path.of(arguments[0]);
        Path bundle = Path.of(arguments[1]);
        Path ids = Path.of(arguments[2]);
        try (ModelDescription model = CheckpointLoader.open(source)) {
            ConversionOptions options = new ConversionOptions(LayerPlans.parse("spikingbrain", 4096, 0, model.config()), QuantizationOptions.DEFAULT,
                    BenchOptions.DEFAULT_SPIKES, false, ConversionOptions.DEFAULT_MAX_SHARD_BYTES, false);
            BundleWriter.convert(model, source, bundle, options, ConversionProgress.NONE);
        }
        System.out.println("converted");
        Calibrator.run(new CalibrationOptions(bundle, ids, null, 256, 128, 0, ThresholdMethod.parse("mse"), null, null, null, source, TransferOptions.DEFAULT,
                null, 4, List.of(), null, false, false), CalibrationProgress.NONE);
        System.out.println("calibrated");
        Verifier.run(new VerifyOptions(bundle, source, null, ids, null, 256, 128, 128, 16, Goals.DEFAULT, OnnxRuntimeOptions.DEFAULT, null, false, VerifyBaseline.WITHOUT_GLA_ATTENTION, ProbeOptions.NONE, false), stage -> { });
        System.out.println("verified");
    }
}
