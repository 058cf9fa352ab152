package dev.spikeconv.converter.calibration;

import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.transfer.LayerTransfer;
import dev.spikeconv.formats.hf.SpikingBrainNames;
import java.util.Locale;

/** The calibration report as a readable table for stdout. */
public final class CalibrationReportText {
    private CalibrationReportText() {}

    public static String render(CalibrationReport report) {
        StringBuilder text = new StringBuilder();
        text.append(String.format(Locale.ROOT, "calibrated %s on %d tokens (%d sequences), method %s%n", report.bundle(), report.tokens(), report.sequences(),
                report.method()));
        if (!report.transfer().isEmpty()) {
            // Step 1 fits a GLA layer's decays or a hybrid layer's linear scales; the table shows the error after it either way.
            text.append(String.format(Locale.ROOT, "%nattention transfer: layer output error ||y - y_dense||^2 / ||y_dense||^2 on held-out tokens%n"));
            boolean adam = report.transfer().stream().anyMatch(layer -> !Double.isNaN(layer.errorAfterAdam()));
            boolean scales = report.transfer().stream().anyMatch(layer -> layer.linearScales().length > 0);
            boolean decays = report.transfer().stream().anyMatch(layer -> layer.decays().length > 0);
            String step = scales && decays ? "decay/β" : scales ? "β" : "decay";
            text.append(String.format(Locale.ROOT, "%-6s %10s %10s %10s %10s %9s%n", "layer", "before", step, "readout", adam ? "adam" : "", "ridge"));
            for (LayerTransfer layer : report.transfer()) {
                text.append(String.format(Locale.ROOT, "%-6d %10.4f %10.4f %10.4f %10s %9s%n", layer.layer(), layer.errorBefore(), layer.errorAfterDecay(),
                        layer.errorAfterReadout(), Double.isNaN(layer.errorAfterAdam()) ? "" : String.format(Locale.ROOT, "%.4f", layer.errorAfterAdam()),
                        Double.isNaN(layer.ridgePenalty()) ? "-" : String.format(Locale.ROOT, "%.0e", layer.ridgePenalty())));
            }
        }
        if (!report.sites().isEmpty()) {
            text.append(String.format(Locale.ROOT, "%n%-36s %-18s %8s %9s %8s %7s %9s %9s%n", "site", "threshold", "firing", "sparsity", "spikes", "silent",
                    "saturated", "error"));
            for (CalibrationReport.SiteResult site : report.sites()) {
                text.append(String.format(Locale.ROOT, "%-36s %-18s %8.4f %9.4f %8.3f %7d %9.5f %9.5f%n", SpikingBrainNames.fromCanonical(site.site()),
                        describe(site.threshold()), site.firingRate(), site.sparsity(), site.spikesPerInput(), site.silentChannels(), site.saturation(),
                        site.reconstructionError()));
            }
            CalibrationReport.Totals totals = report.totals();
            text.append(String.format(Locale.ROOT, "%ntotal      sparsity %.4f, %.3f spikes per input, %d silent channels, saturation %.5f, error %.5f%n",
                    totals.sparsity(), totals.eventsPerInput(), totals.silentChannels(), totals.saturation(), totals.reconstructionError()));
        }
        CalibrationReport.Energy energy = report.energy();
        if (energy == null) {
            return text.toString();
        }
        text.append(String.format(Locale.ROOT, "energy     %.3g J per token spiking vs %.3g J dense (ratio %.3f, %s table)%n", energy.spikingJoules(),
                energy.denseJoules(), energy.ratio(), energy.target()));
        return text.toString();
    }

    static String describe(SiteThreshold threshold) {
        return switch (threshold) {
            case SiteThreshold.Dynamic dynamic -> String.format(Locale.ROOT, "k %.4g", dynamic.k());
            case SiteThreshold.Static fixed when fixed.perChannel() -> fixed.integers().length + " channels, 2^-" + fixed.exponent();
            case SiteThreshold.Static fixed -> String.format(Locale.ROOT, "%d*2^-%d", fixed.integers()[0], fixed.exponent());
        };
    }
}
