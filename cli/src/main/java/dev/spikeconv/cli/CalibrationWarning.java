package dev.spikeconv.cli;

import dev.spikeconv.converter.calibration.Calibrator;
import dev.spikeconv.formats.model.ModelConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;

/** The one warning line for a bundle whose GLA layers were never calibrated: run, generate and verify print it. */
final class CalibrationWarning {
    private CalibrationWarning() {}

    static void warnIfUncalibrated(Path path, ModelConfig config, PrintWriter err) throws IOException {
        if (Calibrator.hasUnfittedLinearLayers(path, config)) {
            err.printf("spikeconv: warning: %s has GLA layers attention transfer never fitted, so expect a poor model: "
                    + "spikeconv calibrate %s --reference SOURCE --data TEXT%n", path, path);
            err.flush();
        }
    }
}
