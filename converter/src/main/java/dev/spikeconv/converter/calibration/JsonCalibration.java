package dev.spikeconv.converter.calibration;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.SpikeconvVersion;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.transfer.LayerTransfer;
import dev.spikeconv.formats.hf.SpikingBrainNames;
import dev.spikeconv.formats.json.JsonDocuments;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The bundle's {@code calibration.json}: format version; the digest of the tensors it is bound to; the
 * data (token digest, counts, seed), method and constraints; attention transfer per layer; every site's
 * threshold and activity; totals and energy. Deterministic: the same run gives the same bytes.
 */
final class JsonCalibration {
    private JsonCalibration() {}

    static byte[] write(CalibrationReport report, CalibrationOptions options, String tokenDigest, List<int[]> sequences, String tensorDigest,
            Map<String, String> referenceFiles, List<String> changed) throws IOException {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("format_version", Calibrator.FORMAT_VERSION);
        root.put("spikeconv_version", SpikeconvVersion.get());
        root.putObject("bundle").put("tensor_digest", tensorDigest);
        root.putObject("data").put("file", options.data().getFileName().toString()).put("tokens", report.tokens()).put("sequences", report.sequences())
                .put("sequence_length", options.sequenceLength()).put("token_sha256", tokenDigest).put("seed", options.seed());
        root.put("method", report.method());
        putNullable(root, "target_sparsity", options.targetSparsity());
        putNullable(root, "max_error", options.maxError());
        root.put("threshold_bits", options.thresholdBits());
        if (options.target() != null) {
            root.put("target", options.target().id());
        }
        else {
            root.putNull("target");
        }
        if (referenceFiles.isEmpty()) {
            root.putNull("reference");
        }
        else {
            ObjectNode files = root.putObject("reference").putObject("files");
            referenceFiles.forEach(files::put);
        }
        ArrayNode transfer = root.putArray("attention_transfer");
        for (LayerTransfer layer : report.transfer()) {
            ObjectNode node = transfer.addObject().put("layer", layer.layer());
            ArrayNode decays = node.putArray("decays");
            for (double decay : layer.decays()) {
                decays.add(decay);
            }
            ArrayNode scales = node.putArray("linear_scales");
            for (double scale : layer.linearScales()) {
                scales.add(scale);
            }
            putNullable(node, "ridge_penalty", Double.isNaN(layer.ridgePenalty()) ? null : layer.ridgePenalty());
            ObjectNode errors = node.putObject("output_error").put("before", layer.errorBefore()).put("after_decay", layer.errorAfterDecay())
                    .put("after_readout", layer.errorAfterReadout());
            putNullable(errors, "after_adam", Double.isNaN(layer.errorAfterAdam()) ? null : layer.errorAfterAdam());
        }
        ArrayNode changedTensors = root.putArray("changed_tensors");
        changed.forEach(changedTensors::add);
        ArrayNode sites = root.putArray("sites");
        for (CalibrationReport.SiteResult site : report.sites()) {
            ObjectNode node = sites.addObject().put("site", SpikingBrainNames.fromCanonical(site.site()));
            ObjectNode threshold = node.putObject("threshold");
            switch (site.threshold()) {
                case SiteThreshold.Static fixed -> {
                    threshold.put("mode", "static");
                    ArrayNode integers = threshold.putArray("integer");
                    for (int integer : fixed.integers()) {
                        integers.add(integer);
                    }
                    threshold.put("exponent", fixed.exponent());
                    ArrayNode values = threshold.putArray("value");
                    for (float value : fixed.thresholds()) {
                        values.add(value);
                    }
                }
                case SiteThreshold.Dynamic dynamic -> threshold.put("mode", "dynamic").put("k", dynamic.k());
            }
            node.put("firing_rate", site.firingRate()).put("sparsity", site.sparsity()).put("spikes_per_input", site.spikesPerInput())
                    .put("silent_channels", site.silentChannels()).put("channels", site.channels()).put("saturation", site.saturation())
                    .put("reconstruction_error", site.reconstructionError());
        }
        CalibrationReport.Totals totals = report.totals();
        root.putObject("totals").put("sparsity", totals.sparsity()).put("events_per_input", totals.eventsPerInput())
                .put("silent_channels", totals.silentChannels()).put("saturation", totals.saturation()).put("reconstruction_error", totals.reconstructionError());
        CalibrationReport.Energy energy = report.energy();
        root.putObject("energy_per_token").put("target", energy.target()).put("table", energy.table()).put("dense_joules", energy.denseJoules())
                .put("spiking_joules", energy.spikingJoules()).put("ratio", energy.ratio());
        return (JsonDocuments.writer().writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private static void putNullable(ObjectNode node, String field, Double value) {
        if (value == null) {
            node.putNull(field);
        }
        else {
            node.put(field, value);
        }
    }
}
