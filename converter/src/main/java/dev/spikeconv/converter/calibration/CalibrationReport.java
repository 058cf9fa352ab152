package dev.spikeconv.converter.calibration;

import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.transfer.LayerTransfer;
import java.nio.file.Path;
import java.util.List;

/**
 * What a calibration did and measured on its own tokens, with the final bundle: per site and in total,
 * spike activity and reconstruction error; per GLA layer, the attention transfer's errors; the
 * energy per token estimated from the target's table (null for a statistics-only run).
 */
public record CalibrationReport(Path bundle, String method, int tokens, int sequences, List<LayerTransfer> transfer, List<SiteResult> sites,
        Totals totals, Energy energy) {
    public CalibrationReport {
        transfer = List.copyOf(transfer);
        sites = List.copyOf(sites);
    }

    /**
     * One spiking site: its threshold and what it does. {@code spikesPerInput}: spike events per input
     * value (per channel and token); sparsity is the share of silent slots of the coding window.
     */
    public record SiteResult(String site, SiteThreshold threshold, double firingRate, double sparsity, double spikesPerInput, int silentChannels,
            int channels, double saturation, double reconstructionError) {}

    /** Over every site: sparsity and saturation over all values, events per input weighted by each projection's multiply-accumulates. */
    public record Totals(double sparsity, double eventsPerInput, int silentChannels, double saturation, double reconstructionError) {}

    /** Energy per decoded token at the target's context, dense fp16 against spiking int8. */
    public record Energy(String target, String table, double denseJoules, double spikingJoules) {
        public double ratio() {
            return denseJoules == 0 ? 0 : spikingJoules / denseJoules;
        }
    }
}
