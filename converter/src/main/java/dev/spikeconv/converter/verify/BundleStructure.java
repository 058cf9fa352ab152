package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.bundle.BundleFileHashes;
import dev.spikeconv.converter.hardware.ManifestCheck;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.ExternalWeightCheck;
import dev.spikeconv.converter.onnx.UnloadableGraphException;
import dev.spikeconv.converter.quantization.Int8Quantizer;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Structural checks of a loadable bundle: finite values in every tensor, consistent weight storage,
 * its ONNX graph present and pointing at the stored weights, and every {@code manifest.*.json} in it
 * matching (checksums, constraints).
 */
final class BundleStructure {
    private static final int CHUNK = 1 << 20;

    private BundleStructure() {}

    static List<String> check(ModelDescription bundle, Path directory) throws IOException {
        List<String> problems = new ArrayList<>();
        if (Files.isDirectory(directory)) {
            problems.addAll(BundleFileHashes.mismatches(directory));
        }
        checkFinite(bundle.tensors(), problems);
        checkFinite(bundle.extraTensors(), problems);
        long int8 = bundle.tensors().entrySet().stream()
                .filter(entry -> entry.getKey().endsWith("_proj.weight") && !entry.getKey().contains("gk_proj")).filter(entry -> entry.getValue() instanceof ScaledInt8Tensor).count();
        long projections = bundle.tensors().keySet().stream().filter(name -> name.endsWith("_proj.weight") && !name.contains("gk_proj")).count();
        if (int8 != 0 && int8 != projections) {
            problems.add(int8 + " of " + projections + " projection weights are int8; a bundle quantizes all or none");
        }
        Path graph = directory.resolve(DecoderGraphWriter.MODEL_FILE);
        if (Files.isDirectory(directory) && !Files.isRegularFile(graph)) {
            problems.add("the bundle has no model.onnx");
        }
        else if (Files.isRegularFile(graph)) {
            try {
                problems.addAll(ExternalWeightCheck.problems(graph));
            }
            catch (UnloadableGraphException e) {
                problems.add(DecoderGraphWriter.MODEL_FILE + " " + e.reason());
            }
        }
        if (Files.isDirectory(directory)) {
            try (DirectoryStream<Path> manifests = Files.newDirectoryStream(directory, "manifest.*.json")) {
                for (Path manifest : manifests) {
                    // One line per manifest: a changed tensor would otherwise repeat in every one of them.
                    List<String> found = ManifestCheck.check(bundle, directory, manifest);
                    if (!found.isEmpty()) {
                        problems.add(manifest.getFileName() + ": " + found.getFirst() + (found.size() > 1 ? " (and " + (found.size() - 1) + " more)" : ""));
                    }
                }
            }
        }
        return problems;
    }

    private static void checkFinite(Map<String, TensorView> tensors, List<String> problems) {
        float[] values = new float[CHUNK];
        for (Map.Entry<String, TensorView> entry : tensors.entrySet()) {
            TensorView tensor = entry.getValue();
            long elements = tensor.shape().elementCount();
            long bad = tensor instanceof ScaledInt8Tensor int8 ? nonFiniteValues(int8) : 0;
            for (long first = 0; first < (tensor instanceof ScaledInt8Tensor ? 0 : elements); first += CHUNK) {
                int count = (int) Math.min(CHUNK, elements - first);
                tensor.readFloats(first, values, 0, count);
                for (int i = 0; i < count; i++) {
                    if (!Float.isFinite(values[i])) {
                        bad++;
                    }
                }
            }
            if (bad > 0) {
                problems.add("tensor " + entry.getKey() + " has " + bad + " NaN or infinite value(s)");
            }
        }
    }

    /**
     * Non-finite values of {@code code × scale}, from the scales: codes are small integers, so a group is all bad when
     * its scale is not finite, and can only overflow when 127 × scale does; only such groups are read value by value.
     */
    private static long nonFiniteValues(ScaledInt8Tensor tensor) {
        long columns = tensor.shape().columns();
        long rows = tensor.shape().elementCount() / columns;
        int group = tensor.groupSize();
        int groups = (int) ((columns + group - 1) / group);
        float[] scales = new float[groups];
        float[] values = new float[(int) Math.min(group, columns)];
        long bad = 0;
        for (long row = 0; row < rows; row++) {
            tensor.scales().readFloats(row * groups, scales, 0, groups);
            for (int index = 0; index < groups; index++) {
                int length = (int) Math.min(group, columns - (long) index * group);
                if (!Float.isFinite(scales[index])) {
                    bad += length;
                }
                else if (Math.abs((double) scales[index]) * Int8Quantizer.MAX_CODE > Float.MAX_VALUE) {
                    tensor.readFloats(row * columns + (long) index * group, values, 0, length);
                    for (int i = 0; i < length; i++) {
                        bad += Float.isFinite(values[i]) ? 0 : 1;
                    }
                }
            }
        }
        return bad;
    }
}
