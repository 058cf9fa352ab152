package dev.spikeconv.converter.calibration;

import dev.spikeconv.converter.hardware.ManifestOptions;
import dev.spikeconv.converter.hardware.ModelFootprint;
import dev.spikeconv.converter.hardware.OperationEstimate;
import dev.spikeconv.converter.hardware.TargetProfile;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.converter.reference.ResidualStreams;
import dev.spikeconv.converter.reference.SpikingSiteHooks;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.converter.spiking.SpikeStatistics;
import dev.spikeconv.converter.transfer.LayerTransfer;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tensor.Shape;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.SequencedMap;

/**
 * The spike activity of the calibrated model on the calibration tokens, per site and in total, and the energy estimate:
 * one more layer-by-layer pass of the bundle as it will be written (thresholds chosen, layers fitted), since new
 * thresholds change what every later layer sees.
 */
final class CalibrationMeasurement {
    private CalibrationMeasurement() {}

    static CalibrationReport run(ModelDescription calibrated, Path bundle, List<int[]> sequences, List<LayerTransfer> transfer, CalibrationOptions options,
            CalibrationProgress progress) throws IOException {
        ModelConfig config = calibrated.config();
        SpikeSettings spike = config.spike();
        SequencedMap<String, SpikeStatistics> sites = new LinkedHashMap<>();
        if (spike.spiking()) {
            SpikeSites.thresholds(calibrated).forEach((site, threshold) -> sites.put(site, new SpikeStatistics(site, threshold, spike,
                    ModelFootprint.timeSteps(spike))));
            measure(calibrated, sequences, sites, options.checkpointFile().toAbsolutePath().getParent(), progress);
        }
        List<CalibrationReport.SiteResult> results = new ArrayList<>();
        long values = 0;
        double events = 0;
        double slots = 0;
        double saturated = 0;
        double errorWeighted = 0;
        int silent = 0;
        double macs = 0;
        double weightedEvents = 0;
        for (SpikeStatistics statistics : sites.values()) {
            results.add(new CalibrationReport.SiteResult(statistics.site(), statistics.threshold(), statistics.firingRate(), statistics.sparsity(),
                    statistics.eventsPerInput(), statistics.silentChannels(), statistics.channels(), statistics.saturation(), statistics.reconstructionError()));
            values += statistics.values();
            events += statistics.events();
            slots += (double) statistics.values() * statistics.window();
            saturated += statistics.saturation() * statistics.values();
            errorWeighted += statistics.reconstructionError() * statistics.values();
            silent += statistics.silentChannels();
            Shape shape = calibrated.tensor(statistics.site() + ".weight").shape();
            double siteMacs = (double) shape.dimension(0) * shape.dimension(1);
            macs += siteMacs;
            weightedEvents += siteMacs * statistics.eventsPerInput();
        }
        CalibrationReport.Totals totals = new CalibrationReport.Totals(slots == 0 ? 0 : 1 - events / slots, macs == 0 ? 0 : weightedEvents / macs, silent,
                values == 0 ? 0 : saturated / values, values == 0 ? 0 : errorWeighted / values);
        TargetProfile profile = options.target() != null ? options.target() : TargetProfiles.shipped("neuromorphic-event");
        OperationEstimate estimate = OperationEstimate.of(ModelFootprint.of(calibrated), profile, ManifestOptions.DEFAULT,
                spike.spiking() ? totals.eventsPerInput() : null);
        CalibrationReport.Energy energy = new CalibrationReport.Energy(profile.id(), profile.energy().source(), estimate.denseJoules(), estimate.spikingJoules());
        int tokens = sequences.stream().mapToInt(sequence -> sequence.length).sum();
        String method = spike.spiking() ? options.method().id() : "keep";
        return new CalibrationReport(bundle, method, tokens, sequences.size(), transfer, results, totals, energy);
    }

    /** Advances every sequence layer by layer through {@code model}, counting spikes at each site under its threshold. */
    private static void measure(ModelDescription model, List<int[]> sequences, SequencedMap<String, SpikeStatistics> sites, Path spillFolder,
            CalibrationProgress progress) throws IOException {
        ReferenceModel reference = ReferenceModel.load(model);
        int layers = model.config().layerCount();
        int[] lengths = sequences.stream().mapToInt(sequence -> sequence.length).toArray();
        SpikingSiteHooks counting = new SpikingSiteHooks() {
            @Override
            public void input(String site, float[] activations, int tokens, int width) {
                SpikeStatistics statistics = sites.get(site);
                if (statistics != null) {
                    statistics.add(activations, tokens, width);
                }
            }
        };
        try (ResidualStreams streams = ResidualStreams.create(lengths, model.config().hiddenSize(), CalibrationPass.STREAM_MEMORY_LIMIT, spillFolder)) {
            for (int s = 0; s < sequences.size(); s++) {
                streams.put(s, reference.embed(sequences.get(s)));
            }
            for (int layer = 0; layer < layers; layer++) {
                progress.stage(String.format(Locale.ROOT, "measuring the calibrated bundle: layer %d of %d", layer + 1, layers));
                for (int s = 0; s < sequences.size(); s++) {
                    float[] stream = streams.get(s);
                    reference.runLayer(layer, stream, lengths[s], counting);
                    streams.put(s, stream);
                }
                progress.step("measuring", layer + 1, layers);
            }
        }
    }
}
