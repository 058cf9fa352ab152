package dev.spikeconv.converter.calibration;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * What calibration gathers at one projection input: the histogram of |a|, for static thresholds,
 * and of |a| / mean|a| per token, for the dynamic threshold's divisor k.
 */
public record SiteStatistics(String site, MagnitudeHistogram magnitudes, MagnitudeHistogram relativeMagnitudes) {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

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
            divide(token, mean, relative);
            relativeMagnitudes.add(relative, 0, token.length);
        }
    }

    /** {@code result[i] = values[i] / divisor}, or 0 when the divisor is 0; a division per lane rounds as the scalar one does. */
    static void divide(float[] values, float divisor, float[] result) {
        if (divisor == 0) {
            Arrays.fill(result, 0, values.length, 0);
            return;
        }
        int i = 0;
        int upperBound = SPECIES.loopBound(values.length);
        for (; i < upperBound; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, values, i).div(divisor).intoArray(result, i);
        }
        for (; i < values.length; i++) {
            result[i] = values[i] / divisor;
        }
    }

    public void merge(SiteStatistics other) {
        magnitudes.merge(other.magnitudes);
        relativeMagnitudes.merge(other.relativeMagnitudes);
    }
}
