package dev.spikeconv.converter.calibration;

import dev.spikeconv.converter.hardware.ModelFootprint;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.formats.model.SpikeSettings;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;

/**
 * Chooses every site's threshold from its statistics. A sparsity target holds for all sites together
 * ({@link SparsityAllocation}); a static method's own θ is a lower bound on top of it, an error budget holds per site.
 */
final class ThresholdPolicy {
    private ThresholdPolicy() {}

    static SequencedMap<String, SiteThreshold> choose(CalibrationStatistics statistics, SpikeSettings spike, CalibrationOptions options) {
        int window = ModelFootprint.timeSteps(spike);
        ThresholdSearch search = new ThresholdSearch(spike.timeSteps(), spike.coding(), window);
        List<SiteStatistics> sites = List.copyOf(statistics.sites().values());
        boolean dynamic = !options.method().isStatic();
        double[] allocated = null;
        if (options.targetSparsity() != null) {
            allocated = SparsityAllocation.thresholds(sites.stream().map(site -> dynamic ? site.relativeMagnitudes() : site.magnitudes()).toList(), search,
                    window, options.targetSparsity());
        }
        SequencedMap<String, SiteThreshold> thresholds = new LinkedHashMap<>();
        for (int index = 0; index < sites.size(); index++) {
            SiteStatistics site = sites.get(index);
            if (dynamic) {
                double threshold = allocated != null ? allocated[index] : search.thresholdForError(site.relativeMagnitudes(), options.maxError());
                thresholds.put(site.site(), new SiteThreshold.Dynamic((float) (1 / threshold)));
                continue;
            }
            double threshold = search.staticThreshold(site.magnitudes(), options.method());
            if (threshold == 0) {
                // A site that never saw a non-zero input: any threshold gives zero counts.
                thresholds.put(site.site(), SiteThreshold.Static.nearest(1, options.thresholdBits()));
                continue;
            }
            if (allocated != null) {
                threshold = Math.max(threshold, allocated[index]);
            }
            if (options.maxError() != null) {
                threshold = Math.min(threshold, search.thresholdForError(site.magnitudes(), options.maxError()));
            }
            thresholds.put(site.site(), SiteThreshold.Static.nearest(threshold, options.thresholdBits()));
        }
        return thresholds;
    }
}
