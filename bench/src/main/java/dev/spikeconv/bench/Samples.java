package dev.spikeconv.bench;

import java.util.Arrays;

/** Repeated timings of one measurement; the median is reported because this machine is noisy. */
public record Samples(double[] values) {
    public Samples {
        if (values.length == 0) {
            throw new IllegalArgumentException("no samples");
        }
        values = values.clone();
    }

    @Override
    public double[] values() {
        return values.clone();
    }

    public double median() {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    public double minimum() {
        return Arrays.stream(values).min().orElseThrow();
    }

    public double maximum() {
        return Arrays.stream(values).max().orElseThrow();
    }
}
