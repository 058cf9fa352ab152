package dev.spikeconv.converter.calibration;

/**
 * What calibration gathers at one projection input: the histogram of |a|, for static thresholds,
 * and of |a| / mean|a| per token, for the dynamic threshold's divisor k.
 */
public record SiteStatistics(String site, MagnitudeHistogram magnitudes, MagnitudeHistogram relativeMagnitudes) {
    public SiteStatistics(String site) {
        this(site, new MagnitudeHistogram(), new MagnitudeHistogram());
    }

    /** Adds the activations of some tokens, {@code [tokens][channels]}. */
    public void add(float[][] activations) {
        for (float[] token : activations) {
            float sum = 0;
            for (float value : token) {
                sum += Math.abs(value);
                magnitudes.add(value);
            }
            float mean = sum / token.length;
            for (float value : token) {
                relativeMagnitudes.add(mean == 0 ? 0 : value / mean);
            }
        }
    }

    public void merge(SiteStatistics other) {
        magnitudes.merge(other.magnitudes);
        relativeMagnitudes.merge(other.relativeMagnitudes);
    }
}
