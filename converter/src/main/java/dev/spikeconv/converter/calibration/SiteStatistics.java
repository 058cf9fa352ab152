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
        float[] relative = new float[activations.length == 0 ? 0 : activations[0].length];
        for (float[] token : activations) {
            float sum = 0;
            for (float value : token) {
                sum += Math.abs(value);
            }
            magnitudes.add(token, 0, token.length);
            float mean = sum / token.length;
            if (relative.length != token.length) {
                relative = new float[token.length];
            }
            for (int i = 0; i < token.length; i++) {
                relative[i] = mean == 0 ? 0 : token[i] / mean;
            }
            relativeMagnitudes.add(relative, 0, token.length);
        }
    }

    public void merge(SiteStatistics other) {
        magnitudes.merge(other.magnitudes);
        relativeMagnitudes.merge(other.relativeMagnitudes);
    }
}
