package dev.spikeconv.converter.hardware;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.json.JsonDocuments;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The spike activity calibrate measured, from the bundle's {@code calibration.json}, for the energy
 * estimate; only when the file is bound to the bundle's current tensors.
 */
public final class MeasuredActivity {
    static final String FILE = "calibration.json";

    private MeasuredActivity() {}

    /** Spike events per projection input, weighted by multiply-accumulates, or null when not measured for these tensors. */
    public static Double eventsPerInput(Path bundle, List<BundleTensorHashes.TensorHash> hashes) throws IOException {
        Path file = bundle.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        JsonNode calibration = JsonDocuments.read(file, 1 << 26);
        JsonNode events = calibration.path("totals").path("events_per_input");
        if (!calibration.path("bundle").path("tensor_digest").asText("").equals(BundleTensorHashes.digest(hashes)) || !events.isNumber()) {
            return null;
        }
        return events.asDouble();
    }
}
