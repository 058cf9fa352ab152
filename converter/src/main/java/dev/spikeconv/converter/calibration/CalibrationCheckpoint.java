package dev.spikeconv.converter.calibration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.reference.ResidualStreams;
import dev.spikeconv.converter.transfer.LayerTransfer;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SequencedMap;

/**
 * Where calibrate's layer-by-layer pass stands after some layers, in one safetensors file written atomically: the
 * residual streams of both models, the statistics gathered so far, the tensors attention transfer fitted (as the
 * bundle stores them) and its per-layer reports. It is bound to the bundle's tensors, the tokens and the settings that
 * shape the pass; a run with the same binding continues after the checkpoint's last layer.
 */
final class CalibrationCheckpoint {
    static final String FORMAT = "spikeconv-calibration-checkpoint-2";
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** What a checkpoint must match to be resumed. */
    record Binding(String bundleDigest, String tokenDigest, String settings) {}

    /** A resumed state: layers done, statistics, fitted tensors (in memory) and transfer reports. The streams went into the caller's. */
    record Resumed(int layersDone, CalibrationStatistics statistics, Map<String, TensorView> fitted, List<LayerTransfer> reports) {}

    private CalibrationCheckpoint() {}

    static void write(Path file, Binding binding, int layersDone, ResidualStreams bundleStreams, ResidualStreams denseStreams,
            CalibrationStatistics statistics, Map<String, TensorView> fitted, List<LayerTransfer> reports) throws IOException {
        Map<String, SafetensorsWriter.TensorContent> contents = new LinkedHashMap<>();
        List<SafetensorsWriter.TensorEntry> entries = new ArrayList<>();
        int width = bundleStreams.width();
        addStreams("bundle_stream.", bundleStreams, width, entries, contents);
        addStreams("dense_stream.", denseStreams, width, entries, contents);
        statistics.histograms("statistics.").forEach((name, longs) -> {
            entries.add(new SafetensorsWriter.TensorEntry(name, DType.I64, Shape.of(longs.length)));
            contents.put(name, (entry, channel) -> CalibrationStatistics.writeLongs(longs, channel));
        });
        ArrayNode fittedList = JsonNodeFactory.instance.arrayNode();
        fitted.forEach((name, tensor) -> {
            ObjectNode node = fittedList.addObject().put("name", name);
            switch (tensor) {
                case ScaledInt8Tensor int8 -> {
                    node.put("group", int8.groupSize());
                    addStored("fitted." + name, int8.codes(), entries, contents);
                    addStored("fitted." + name + ".scales", int8.scales(), entries, contents);
                }
                case StoredTensor stored -> addStored("fitted." + name, stored, entries, contents);
                default -> throw new IllegalArgumentException(name + ": fitted tensors are stored tensors, not " + tensor.getClass().getSimpleName());
            }
        });
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", FORMAT);
        metadata.put("bundle_digest", binding.bundleDigest());
        metadata.put("token_digest", binding.tokenDigest());
        metadata.put("settings", binding.settings());
        metadata.put("layers_done", String.valueOf(layersDone));
        metadata.put("sequences", String.valueOf(statistics.sequences()));
        metadata.put("fitted", JsonDocuments.writer().writeValueAsString(fittedList));
        metadata.put("transfer", JsonDocuments.writer().writeValueAsString(reportsJson(reports)));
        Path absolute = file.toAbsolutePath();
        Path temporary = absolute.resolveSibling("." + absolute.getFileName() + ".tmp");
        SafetensorsWriter.write(temporary, entries, metadata, (entry, channel) -> contents.get(entry.name()).write(entry, channel));
        Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void addStreams(String prefix, ResidualStreams streams, int width, List<SafetensorsWriter.TensorEntry> entries,
            Map<String, SafetensorsWriter.TensorContent> contents) {
        for (int s = 0; s < streams.sequences(); s++) {
            int sequence = s;
            String name = prefix + s;
            entries.add(new SafetensorsWriter.TensorEntry(name, DType.F32, Shape.of(streams.length(s), width)));
            contents.put(name, (entry, channel) -> {
                float[] values = streams.get(sequence);
                MemorySegment bytes = MemorySegment.ofArray(new byte[values.length * Float.BYTES]);
                MemorySegment.copy(values, 0, bytes, FLOAT, 0, values.length);
                SafetensorsWriter.writeFully(channel, bytes);
            });
        }
    }

    private static void addStored(String name, StoredTensor tensor, List<SafetensorsWriter.TensorEntry> entries,
            Map<String, SafetensorsWriter.TensorContent> contents) {
        entries.add(new SafetensorsWriter.TensorEntry(name, tensor.dtype(), tensor.shape()));
        contents.put(name, (entry, channel) -> SafetensorsWriter.writeFully(channel, tensor.data()));
    }

    /**
     * The state saved in {@code file} when it matches {@code binding}, its streams copied into {@code bundleStreams} and
     * {@code denseStreams}; empty when there is no file or it belongs to another run (then it is overwritten later). A
     * file that is not a calibrate checkpoint is refused: it is not spikeconv's to overwrite.
     */
    static Optional<Resumed> read(Path file, Binding binding, ResidualStreams bundleStreams, ResidualStreams denseStreams, CalibrationProgress progress)
            throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        SafetensorsFile safetensors;
        try {
            safetensors = SafetensorsFile.open(file);
        }
        catch (InvalidInputException e) {
            throw notACheckpoint(file);
        }
        try (safetensors) {
            Map<String, String> metadata = safetensors.metadata();
            String format = metadata.get("format");
            if (CalibrationStatistics.FORMAT.equals(format)) {
                progress.warning(file + " is a checkpoint of an earlier spikeconv version; starting over");
                return Optional.empty();
            }
            if (!FORMAT.equals(format)) {
                throw notACheckpoint(file);
            }
            Binding saved = new Binding(metadata.get("bundle_digest"), metadata.get("token_digest"), metadata.get("settings"));
            if (!saved.equals(binding)) {
                progress.warning(file + " belongs to another bundle state, other tokens or other settings; starting over");
                return Optional.empty();
            }
            try {
                int layersDone = Integer.parseInt(CalibrationStatistics.required(metadata, "layers_done", file));
                readStreams(safetensors, "bundle_stream.", bundleStreams, file);
                readStreams(safetensors, "dense_stream.", denseStreams, file);
                CalibrationStatistics statistics = CalibrationStatistics.read(safetensors, "statistics.", binding.bundleDigest(), binding.tokenDigest(),
                        CalibrationStatistics.required(metadata, "sequences", file), file);
                Map<String, TensorView> fitted = new LinkedHashMap<>();
                for (JsonNode node : json(metadata, "fitted", file)) {
                    String name = node.path("name").asText();
                    StoredTensor codes = inMemory(safetensors, "fitted." + name, name);
                    fitted.put(name, node.has("group")
                            ? new ScaledInt8Tensor(codes, inMemory(safetensors, "fitted." + name + ".scales", name + "_scale"), node.path("group").asInt())
                            : codes);
                }
                List<LayerTransfer> reports = new ArrayList<>();
                for (JsonNode node : json(metadata, "transfer", file)) {
                    reports.add(report(node));
                }
                return Optional.of(new Resumed(layersDone, statistics, fitted, reports));
            }
            catch (IllegalArgumentException e) {
                throw InvalidInputException.forFile(file, "is not a consistent calibrate checkpoint (" + e.getMessage() + "); remove it to start over");
            }
        }
    }

    private static InvalidInputException notACheckpoint(Path file) {
        return InvalidInputException.forFile(file, "is not a calibrate checkpoint; choose another checkpoint file");
    }

    private static void readStreams(SafetensorsFile safetensors, String prefix, ResidualStreams streams, Path file) {
        for (int s = 0; s < streams.sequences(); s++) {
            StoredTensor tensor = safetensors.tensors().get(prefix + s);
            long expected = (long) streams.length(s) * streams.width();
            if (tensor == null || tensor.dtype() != DType.F32 || tensor.shape().elementCount() != expected) {
                throw new IllegalArgumentException(prefix + s + " is missing or has the wrong size");
            }
            float[] values = new float[(int) expected];
            MemorySegment.copy(tensor.data(), FLOAT, 0, values, 0, values.length);
            streams.put(s, values);
        }
    }

    private static JsonNode json(Map<String, String> metadata, String key, Path file) {
        return JsonDocuments.parse(CalibrationStatistics.required(metadata, key, file).getBytes(StandardCharsets.UTF_8), file, "metadata " + key);
    }

    /** A copy in memory named {@code tensorName}: the checkpoint file is closed once read. */
    private static StoredTensor inMemory(SafetensorsFile safetensors, String entry, String tensorName) {
        StoredTensor tensor = safetensors.tensors().get(entry);
        if (tensor == null) {
            throw new IllegalArgumentException(entry + " is missing");
        }
        return new StoredTensor(tensorName, tensor.dtype(), tensor.shape(), MemorySegment.ofArray(tensor.data().toArray(ValueLayout.JAVA_BYTE)));
    }

    private static ArrayNode reportsJson(List<LayerTransfer> reports) {
        ArrayNode array = JsonNodeFactory.instance.arrayNode();
        for (LayerTransfer report : reports) {
            ObjectNode node = array.addObject().put("layer", report.layer());
            ArrayNode decays = node.putArray("decays");
            for (double decay : report.decays()) {
                decays.add(decay);
            }
            ArrayNode scales = node.putArray("linear_scales");
            for (double scale : report.linearScales()) {
                scales.add(scale);
            }
            putNumber(node, "ridge_penalty", report.ridgePenalty());
            putNumber(node, "before", report.errorBefore());
            putNumber(node, "after_decay", report.errorAfterDecay());
            putNumber(node, "after_readout", report.errorAfterReadout());
            putNumber(node, "after_adam", report.errorAfterAdam());
            ObjectNode errors = node.putObject("quantization_errors");
            report.quantizationErrors().forEach(errors::put);
        }
        return array;
    }

    private static void putNumber(ObjectNode node, String field, double value) {
        if (Double.isNaN(value)) {
            node.putNull(field);
        }
        else {
            node.put(field, value);
        }
    }

    private static LayerTransfer report(JsonNode node) {
        double[] decays = numbers(node.path("decays"));
        double[] scales = numbers(node.path("linear_scales"));
        SequencedMap<String, Double> errors = new LinkedHashMap<>();
        node.path("quantization_errors").properties().forEach(entry -> errors.put(entry.getKey(), entry.getValue().asDouble()));
        return new LayerTransfer(node.path("layer").asInt(), decays, scales, number(node, "ridge_penalty"), number(node, "before"), number(node, "after_decay"),
                number(node, "after_readout"), number(node, "after_adam"), errors);
    }

    private static double[] numbers(JsonNode array) {
        double[] values = new double[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asDouble();
        }
        return values;
    }

    private static double number(JsonNode node, String field) {
        return node.path(field).isNumber() ? node.path(field).asDouble() : Double.NaN;
    }
}
