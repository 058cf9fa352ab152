package dev.spikeconv.converter.verify;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.converter.bundle.BundleConfig;
import dev.spikeconv.converter.calibration.Calibrator;
import dev.spikeconv.formats.hf.HfCheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;

/** What convert and calibrate recorded in a bundle folder that verify reports beside its own measurements. */
final class BundleRecords {
    private BundleRecords() {}

    /** What the bundle's config records of its int8 tensors' quantization errors (none for a bundle file or an older bundle). */
    static SequencedMap<String, Double> quantizationErrors(Path bundle) throws IOException {
        SequencedMap<String, Double> errors = new LinkedHashMap<>();
        Path config = bundle.resolve(HfCheckpointLoader.CONFIG);
        if (Files.isDirectory(bundle) && Files.isRegularFile(config)) {
            JsonDocuments.read(config, 1 << 24).path("spikeconv").path("quantization").path(BundleConfig.RELATIVE_ERRORS).properties()
                    .forEach(entry -> errors.put(entry.getKey(), entry.getValue().asDouble()));
        }
        return errors;
    }

    /** What calibration.json records of calibrate's run, or null when the bundle has none. */
    static VerifyReport.Calibration calibration(Path bundle) throws IOException {
        Path file = bundle.resolve(Calibrator.CALIBRATION_FILE);
        if (!Files.isDirectory(bundle) || !Files.isRegularFile(file)) {
            return null;
        }
        JsonNode json = JsonDocuments.read(file, 1 << 26);
        List<VerifyReport.TransferFit> transfer = new ArrayList<>();
        for (JsonNode layer : json.path("attention_transfer")) {
            JsonNode errors = layer.path("output_error");
            JsonNode after = errors.path("after_adam").isNumber() ? errors.path("after_adam") : errors.path("after_readout");
            transfer.add(new VerifyReport.TransferFit(layer.path("layer").asInt(), errors.path("before").asDouble(Double.NaN), after.asDouble(Double.NaN)));
        }
        return new VerifyReport.Calibration(json.path("method").asText("?"), json.path("data").path("file").asText("?"), json.path("data").path("tokens").asInt(),
                transfer);
    }

}
