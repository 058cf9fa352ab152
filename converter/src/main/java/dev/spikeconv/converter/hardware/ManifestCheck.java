package dev.spikeconv.converter.hardware;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a bundle against one of its manifests: every tensor the manifest lists is present with the
 * same dtype, shape and SHA-256 (and no other), and the model still meets the target's constraints.
 * Returns the problems found; none means the bundle is what the manifest describes.
 */
public final class ManifestCheck {
    private static final long MAX_MANIFEST_BYTES = 256L << 20;

    private ManifestCheck() {}

    public static List<String> check(ModelDescription bundle, Path bundleDirectory, Path manifestFile) throws IOException {
        List<String> problems = new ArrayList<>();
        JsonNode manifest = JsonDocuments.read(manifestFile, MAX_MANIFEST_BYTES);
        Map<String, BundleTensorHashes.TensorHash> actual = new LinkedHashMap<>();
        BundleTensorHashes.of(bundleDirectory).forEach(tensor -> actual.put(tensor.name(), tensor));
        Map<String, JsonNode> listed = new LinkedHashMap<>();
        manifest.path("tensors").forEach(tensor -> listed.put(tensor.path("name").asText(), tensor));
        if (listed.isEmpty()) {
            problems.add("the manifest lists no tensors");
        }
        for (Map.Entry<String, JsonNode> entry : listed.entrySet()) {
            BundleTensorHashes.TensorHash tensor = actual.get(entry.getKey());
            JsonNode expected = entry.getValue();
            if (tensor == null) {
                problems.add("tensor " + entry.getKey() + " is in the manifest but not in the bundle");
                continue;
            }
            long[] shape = new long[expected.path("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = expected.path("shape").get(i).asLong();
            }
            if (!tensor.dtype().equals(expected.path("dtype").asText()) || !Arrays.equals(tensor.shape(), shape)) {
                problems.add("tensor " + entry.getKey() + " is " + tensor.dtype() + " " + Arrays.toString(tensor.shape()) + ", the manifest says "
                        + expected.path("dtype").asText() + " " + Arrays.toString(shape));
            }
            else if (!tensor.sha256().equals(expected.path("sha256").asText())) {
                problems.add("tensor " + entry.getKey() + " has SHA-256 " + tensor.sha256() + ", the manifest says " + expected.path("sha256").asText());
            }
        }
        actual.keySet().stream().filter(name -> !listed.containsKey(name)).forEach(name -> problems.add("tensor " + name + " is not in the manifest"));
        String targetId = manifest.path("target").path("id").asText();
        if (TargetProfiles.shippedIds().contains(targetId)) {
            TargetProfile target = TargetProfiles.shipped(targetId);
            JsonNode memory = manifest.path("memory");
            ManifestOptions options = new ManifestOptions(Math.max(1, memory.path("batch").asInt(1)), Math.max(1, memory.path("context").asInt(4096)));
            TargetConstraints.violations(ModelFootprint.of(bundle), target, options).forEach(violation -> problems.add("target " + targetId + ": " + violation));
        }
        return problems;
    }
}
