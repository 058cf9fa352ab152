package dev.spikeconv.converter.verify;

import static org.assertj.core.api.Assertions.assertThat;

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
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a hybrid loses beyond its window, on stories260K and TinyStories (calibrated bundles, 2048 tokens in sequences of
 * 512 after the calibration text): sliding windows of 64 lose some of what recurs only further back, and the fitted GLA
 * layers of this tiny model do not give it back. The long-range goal tells the two apart, with its reason in one line.
 */
class LongRangeTest {
    private static final SpikeSettings DYNAMIC = new SpikeSettings(SpikeSettings.Mode.DYNAMIC, 3, 127, SpikeSettings.Coding.TERNARY, List.of());

    @TempDir
    Path directory;

    private Path calibrated(String plan) throws IOException {
        Path source = TestModels.stories260K();
        Path bundle;
        try (ModelDescription model = CheckpointLoader.open(source)) {
            ConversionOptions options = new ConversionOptions(LayerPlans.parse(plan, 64, 4, model.config()), QuantizationOptions.DEFAULT, DYNAMIC, false,
                    ConversionOptions.DEFAULT_MAX_SHARD_BYTES, false);
            bundle = BundleWriter.convert(model, source, directory.resolve(plan), options, ConversionProgress.NONE).output();
        }
        Calibrator.run(new CalibrationOptions(bundle, TestModels.tinyStories(), null, 4096, 512, 0, ThresholdMethod.parse("mse"), null, null, null, source,
                TransferOptions.DEFAULT, null, 4, List.of(), null, false, false), CalibrationProgress.NONE);
        return bundle;
    }

    private static VerifyReport verify(Path bundle, double longRangeRatio, VerifyBaseline baseline) throws IOException {
        Goals goals = new Goals(100, 100, 0, 100, 0, 1e-3, 0.999, 1e-3, Double.POSITIVE_INFINITY, true, longRangeRatio);
        List<String> warnings = new ArrayList<>();
        VerifyReport report = Verifier.run(new VerifyOptions(bundle, TestModels.stories260K(), null, TestModels.tinyStories(), null, 4096, 2048, 512, 16,
                goals, OnnxRuntimeOptions.DEFAULT, null, false, baseline, ProbeOptions.NONE, false), stage -> {
                    if (stage.startsWith("warning")) {
                        warnings.add(stage);
                    }
                });
        assertThat(warnings).isEmpty();
        return report;
    }

    @Test
    void theLongRangeGoalSeparatesAWindowFromAHybridThatLosesMore() throws IOException {
        VerifyReport window = verify(calibrated("all-swa"), 1.2, VerifyBaseline.WITHOUT_GLA_ATTENTION);
        Path alternate = calibrated("alternate");
        VerifyReport hybrid = verify(alternate, 1.2, VerifyBaseline.WITHOUT_GLA_ATTENTION);
        VerifyReport.Bucket windowBeyond = window.longRange().onlyBeyondHorizon();
        VerifyReport.Bucket hybridBeyond = hybrid.longRange().onlyBeyondHorizon();
        assertThat(window.longRange().horizon()).isEqualTo(64);
        assertThat(windowBeyond.positions()).isEqualTo(hybridBeyond.positions()).isGreaterThan(400);
        // the window loses a little of what lies beyond it; the hybrid more
        assertThat(windowBeyond.nllRatio()).isBetween(1.0, 1.2);
        assertThat(hybridBeyond.nllRatio()).isGreaterThan(1.2);
        GoalResult windowGoal = goal(window);
        GoalResult hybridGoal = goal(hybrid);
        assertThat(windowGoal.passed()).isTrue();
        assertThat(hybridGoal.passed()).isFalse();
        assertThat(hybridGoal.detail()).contains("tokens that last occurred only beyond 64 back", "goal <= 1.200").doesNotContain("\n");

        // against SWA-64 in their place, the GLA layers lose memory past the window: the baseline's goal says so in one line
        VerifyReport againstWindow = verify(alternate, Double.POSITIVE_INFINITY, VerifyBaseline.ALL_SWA);
        assertThat(againstWindow.baseline().onlyBeyondHorizon().bundleNll()).isLessThan(hybridBeyond.bundleNll());
        GoalResult beyondWindow = againstWindow.goals().stream().filter(goal -> goal.name().equals("gla_beyond_window")).findFirst().orElseThrow();
        assertThat(beyondWindow.passed()).isFalse();
        assertThat(beyondWindow.detail()).contains("with the GLA layers vs", "with SWA in their place", "they lose memory past the window").doesNotContain("\n");
    }

    private static GoalResult goal(VerifyReport report) {
        return report.goals().stream().filter(goal -> goal.name().equals("max_long_range_nll_ratio")).findFirst().orElseThrow();
    }
}
