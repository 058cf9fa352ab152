package dev.spikeconv.converter.calibration;

import dev.spikeconv.converter.kernels.VectorKernels;
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

    /**
     * Adds the activations of {@code tokens} tokens, {@code [tokens, width]} row-major. A token's relative magnitudes
     * divide by its mean |a| as the dynamic threshold takes it ({@code SpikeArithmetic}: summed in float64, rounded once).
     */
    public void add(float[] activations, int tokens, int width) {
        magnitudes.add(activations, 0, tokens * width);
        float[] relative = new float[width];
        for (int t = 0; t < tokens; t++) {
            float mean = (float) (VectorKernels.sumOfMagnitudes(activations, t * width, width) / width);
            divide(activations, t * width, width, mean, relative);
            relativeMagnitudes.add(relative, 0, width);
        }
    }

    /** The same for {@code [tokens][width]}. */
    public void add(float[][] activations) {
        for (float[] token : activations) {
            add(token, 1, token.length);
        }
    }

    /** {@code result[i] = values[offset + i] / divisor} for i below {@code length}, or 0 when the divisor is 0; a division per lane rounds as the scalar one does. */
    static void divide(float[] values, int offset, int length, float divisor, float[] result) {
        if (divisor == 0) {
            Arrays.fill(result, 0, length, 0);
            return;
        }
        int i = 0;
        int upperBound = SPECIES.loopBound(length);
        for (; i < upperBound; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, values, offset + i).div(divisor).intoArray(result, i);
        }
        for (; i < length; i++) {
            result[i] = values[offset + i] / divisor;
        }
    }

    public void merge(SiteStatistics other) {
        magnitudes.merge(other.magnitudes);
        relativeMagnitudes.merge(other.relativeMagnitudes);
    }
}
