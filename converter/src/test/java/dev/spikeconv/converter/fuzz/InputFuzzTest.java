package dev.spikeconv.converter.fuzz;

import static dev.spikeconv.formats.fuzz.FuzzFiles.refusesOnlyAsInvalidInput;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.spikeconv.converter.calibration.CalibrationStatistics;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.hardware.MeasuredActivity;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.converter.verify.Goals;
import dev.spikeconv.converter.verify.ReferenceRecording;
import dev.spikeconv.formats.fuzz.FuzzFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;

/**
 * Fuzz targets for the files the converter reads besides checkpoints: ONNX graphs it augments, the
 * calibration statistics and calibration.json, target profiles, goals files and saved reference logits.
 * Seeds run in {@code make test}; {@code make fuzz} fuzzes. Only an input error may escape.
 */
class InputFuzzTest {
    private static final FuzzFiles FILES = new FuzzFiles();

    @AfterAll
    static void removeFiles() {
        FILES.close();
    }

    @FuzzTest(maxDuration = "30s")
    void onnxGraph(byte[] input) throws IOException {
        Path file = FILES.write("model.onnx", input);
        refusesOnlyAsInvalidInput(() -> OnnxRuntimeEngine.readGraph(file));
    }

    @FuzzTest(maxDuration = "30s")
    void calibrationStatistics(byte[] input) throws IOException {
        Path file = FILES.write("statistics.safetensors", input);
        refusesOnlyAsInvalidInput(() -> CalibrationStatistics.read(file));
    }

    @FuzzTest(maxDuration = "30s")
    void calibrationJson(byte[] input) throws IOException {
        FILES.write("calibration.json", input);
        refusesOnlyAsInvalidInput(() -> MeasuredActivity.eventsPerInput(FILES.directory(), List.of()));
    }

    @FuzzTest(maxDuration = "30s")
    void targetProfile(byte[] input) throws IOException {
        Path file = FILES.write("target.json", input);
        refusesOnlyAsInvalidInput(() -> TargetProfiles.read(file));
    }

    @FuzzTest(maxDuration = "30s")
    void goals(byte[] input) throws IOException {
        Path file = FILES.write("goals.json", input);
        refusesOnlyAsInvalidInput(() -> Goals.read(file, Goals.DEFAULT));
    }

    @FuzzTest(maxDuration = "30s")
    void referenceLogits(byte[] input) throws IOException {
        Path file = FILES.write("reference.safetensors", input);
        refusesOnlyAsInvalidInput(() -> ReferenceRecording.read(file));
    }
}
