package dev.spikeconv.converter.calibration;

import java.util.ArrayList;
import java.util.List;

/**
 * Spreads one sparsity target over many sites: each site gets the threshold minimising
 * {@code relative error + μ · spike events per value}, and μ is bisected until the spike slots of all
 * sites together reach the target. Sites whose error rises slowly with the threshold give up more
 * spikes than sites where every spike matters, which a per-site target cannot do.
 */
final class SparsityAllocation {
    private static final int GRID_PER_OCTAVE = 16;
    private static final int OCTAVES_BELOW = 24;
    private static final int OCTAVES_ABOVE = 4;
    private static final int BISECTION_STEPS = 80;

    private SparsityAllocation() {}

    /** Per site, in order, the threshold that meets {@code targetSparsity} over all {@code histograms} together. */
    static double[] thresholds(List<MagnitudeHistogram> histograms, ThresholdSearch search, int window, double targetSparsity) {
        List<double[]> grids = new ArrayList<>();
        List<double[]> errors = new ArrayList<>();
        List<double[]> events = new ArrayList<>();
        double totalValues = 0;
        for (MagnitudeHistogram histogram : histograms) {
            double top = Math.max(histogram.maximum(), Double.MIN_NORMAL);
            int points = (OCTAVES_BELOW + OCTAVES_ABOVE) * GRID_PER_OCTAVE + 1;
            double[] grid = new double[points];
            double[] error = new double[points];
            double[] event = new double[points];
            for (int i = 0; i < points; i++) {
                grid[i] = top * Math.pow(2, OCTAVES_ABOVE - (double) i / GRID_PER_OCTAVE);
                MagnitudeHistogram.CodeStatistics statistics = search.statistics(histogram, grid[i]);
                error[i] = statistics.relativeError();
                event[i] = statistics.meanEvents();
            }
            grids.add(grid);
            errors.add(error);
            events.add(event);
            totalValues += histogram.total();
        }
        double allowedEvents = (1 - targetSparsity) * window * totalValues;
        double low = 0;
        double high = 1;
        int[] choice = choose(errors, events, high);
        while (events(choice, events, histograms) > allowedEvents && high < 1e12) {
            low = high;
            high *= 4;
            choice = choose(errors, events, high);
        }
        for (int step = 0; step < BISECTION_STEPS; step++) {
            double middle = (low + high) / 2;
            if (events(choose(errors, events, middle), events, histograms) > allowedEvents) {
                low = middle;
            }
            else {
                high = middle;
            }
        }
        choice = choose(errors, events, high);
        double[] thresholds = new double[histograms.size()];
        for (int site = 0; site < thresholds.length; site++) {
            thresholds[site] = grids.get(site)[choice[site]];
        }
        return thresholds;
    }

    /** Per site, the grid point with the least {@code error + μ · events}. */
    private static int[] choose(List<double[]> errors, List<double[]> events, double multiplier) {
        int[] choice = new int[errors.size()];
        for (int site = 0; site < choice.length; site++) {
            double[] error = errors.get(site);
            double[] event = events.get(site);
            double best = Double.POSITIVE_INFINITY;
            for (int i = 0; i < error.length; i++) {
                double cost = error[i] + multiplier * event[i];
                if (cost < best) {
                    best = cost;
                    choice[site] = i;
                }
            }
        }
        return choice;
    }

    private static double events(int[] choice, List<double[]> events, List<MagnitudeHistogram> histograms) {
        double total = 0;
        for (int site = 0; site < choice.length; site++) {
            total += events.get(site)[choice[site]] * histograms.get(site).total();
        }
        return total;
    }
}
