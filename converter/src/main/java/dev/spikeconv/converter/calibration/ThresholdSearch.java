package dev.spikeconv.converter.calibration;

import dev.spikeconv.formats.model.SpikeSettings;

/**
 * Chooses thresholds from a site's histograms. Static thresholds come from the |a| histogram; the
 * dynamic divisor k from the histogram of |a| / mean|a| per token, where θ = 1/k plays the static
 * threshold's part. Larger thresholds mean fewer spikes, so a sparsity target is a lower bound on θ
 * (found by bisection), an error budget an upper bound.
 */
public final class ThresholdSearch {
    /** Grid points per factor of two in the MSE search. */
    private static final int GRID_PER_OCTAVE = 32;
    /** The MSE search looks this many octaves below max/T. */
    private static final int SEARCH_OCTAVES = 16;
    private static final int BISECTION_STEPS = 60;

    private final int timeSteps;
    private final SpikeSettings.Coding coding;
    private final int window;

    /** {@code window}: time steps a count occupies on the wire, the denominator of sparsity. */
    public ThresholdSearch(int timeSteps, SpikeSettings.Coding coding, int window) {
        this.timeSteps = timeSteps;
        this.coding = coding;
        this.window = Math.max(1, window);
    }

    /** The threshold a static method picks; 0 for a histogram of zeros only. */
    public double staticThreshold(MagnitudeHistogram histogram, ThresholdMethod method) {
        if (histogram.maximum() == 0) {
            return 0;
        }
        return switch (method.kind()) {
            case MAX -> histogram.maximum() / timeSteps;
            case PERCENTILE -> Math.max(histogram.quantile(method.percentile() / 100), Double.MIN_NORMAL) / timeSteps;
            case MSE -> minimumError(histogram);
            case DYNAMIC, KEEP -> throw new IllegalArgumentException(method.id() + " thresholds are not static");
        };
    }

    /** The θ with the least squared error of the clamped, rounded counts: a log grid below max/T, then golden-section refinement. */
    double minimumError(MagnitudeHistogram histogram) {
        double top = histogram.maximum() / timeSteps * 2;
        int points = SEARCH_OCTAVES * GRID_PER_OCTAVE;
        double best = top;
        double bestError = Double.POSITIVE_INFINITY;
        int bestIndex = 0;
        for (int i = 0; i <= points; i++) {
            double threshold = top * Math.pow(2, -(double) i / GRID_PER_OCTAVE);
            double error = error(histogram, threshold);
            if (error < bestError) {
                bestError = error;
                best = threshold;
                bestIndex = i;
            }
        }
        double low = Math.log(top) - Math.log(2) * Math.min(points, bestIndex + 1) / GRID_PER_OCTAVE;
        double high = Math.log(top) - Math.log(2) * Math.max(0, bestIndex - 1) / GRID_PER_OCTAVE;
        double ratio = (Math.sqrt(5) - 1) / 2;
        for (int step = 0; step < 40; step++) {
            double left = high - ratio * (high - low);
            double right = low + ratio * (high - low);
            if (error(histogram, Math.exp(left)) <= error(histogram, Math.exp(right))) {
                high = right;
            }
            else {
                low = left;
            }
        }
        double refined = Math.exp((low + high) / 2);
        return error(histogram, refined) <= bestError ? refined : best;
    }

    private double error(MagnitudeHistogram histogram, double threshold) {
        return histogram.codeStatistics(threshold, timeSteps, coding).meanSquaredError();
    }

    /** The smallest θ whose sparsity reaches {@code target} (sparsity grows with θ). */
    public double thresholdForSparsity(MagnitudeHistogram histogram, double target) {
        double low = Math.max(histogram.maximum(), Double.MIN_NORMAL) * 1e-9;
        double high = Math.max(histogram.maximum(), Double.MIN_NORMAL) * 4;
        if (sparsity(histogram, low) >= target) {
            return low;
        }
        for (int step = 0; step < BISECTION_STEPS; step++) {
            double middle = Math.sqrt(low * high);
            if (sparsity(histogram, middle) >= target) {
                high = middle;
            }
            else {
                low = middle;
            }
        }
        return high;
    }

    /**
     * The largest θ whose relative error stays within {@code budget}. The error grows with θ above the
     * MSE optimum (rounding) and below it (clipping at T), so the search runs above the optimum; when even
     * the optimum misses the budget, the optimum is returned.
     */
    public double thresholdForError(MagnitudeHistogram histogram, double budget) {
        if (histogram.maximum() == 0) {
            return 1;
        }
        double low = minimumError(histogram);
        double high = histogram.maximum() * 4;
        if (relativeError(histogram, low) > budget) {
            return low;
        }
        if (relativeError(histogram, high) <= budget) {
            return high;
        }
        for (int step = 0; step < BISECTION_STEPS; step++) {
            double middle = Math.sqrt(low * high);
            if (relativeError(histogram, middle) <= budget) {
                low = middle;
            }
            else {
                high = middle;
            }
        }
        return low;
    }

    public double sparsity(MagnitudeHistogram histogram, double threshold) {
        return histogram.codeStatistics(threshold, timeSteps, coding).sparsity(window);
    }

    public double relativeError(MagnitudeHistogram histogram, double threshold) {
        return histogram.codeStatistics(threshold, timeSteps, coding).relativeError();
    }

    public MagnitudeHistogram.CodeStatistics statistics(MagnitudeHistogram histogram, double threshold) {
        return histogram.codeStatistics(threshold, timeSteps, coding);
    }
}
