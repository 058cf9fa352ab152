package dev.spikeconv.converter.spiking;

import dev.spikeconv.formats.model.SpikeSettings;

/**
 * Spike activity at one projection input, accumulated over tokens: counts are computed as the model
 * does ({@link SpikeArithmetic} with the site's {@link SiteThreshold}). A count s sends |s| unit spikes
 * (binary, ternary) or popcount(|s|) bit spikes (bitwise) over the coding's time window; sparsity is the
 * share of window slots without a spike (SpikingBrain's definition). Reconstruction error is
 * {@code Σ(a - θs)² / Σa²}.
 */
public final class SpikeStatistics {
    private final String site;
    private final SiteThreshold threshold;
    private final SpikeSettings settings;
    private final int window;
    private boolean[] activeChannels;
    private long values;
    private long events;
    private long zeros;
    private long saturated;
    private double sumOfMagnitudes;
    private double squaredError;
    private double squaredSignal;

    /** {@code window}: time steps a count occupies on the wire (see the manifest's time steps). */
    public SpikeStatistics(String site, SiteThreshold threshold, SpikeSettings settings, int window) {
        this.site = site;
        this.threshold = threshold;
        this.settings = settings;
        this.window = Math.max(1, window);
    }

    /** Adds the activations of some tokens, {@code [tokens][channels]}. */
    public void add(float[][] activations) {
        int limit = settings.timeSteps();
        boolean bitwise = settings.coding() == SpikeSettings.Coding.BITWISE;
        float[] channelThresholds = threshold instanceof SiteThreshold.Static fixed ? fixed.thresholds() : null;
        boolean perChannel = channelThresholds != null && channelThresholds.length > 1;
        // Accumulated in locals in the same order as into the fields, so the sums are the same bits; the loop stays in registers.
        long valueCount = values;
        long eventCount = events;
        long zeroCount = zeros;
        long saturatedCount = saturated;
        double magnitudes = sumOfMagnitudes;
        double error2 = squaredError;
        double signal2 = squaredSignal;
        for (float[] token : activations) {
            if (activeChannels == null) {
                activeChannels = new boolean[token.length];
            }
            boolean[] active = activeChannels;
            float tokenThreshold = switch (threshold) {
                case SiteThreshold.Dynamic dynamic -> SpikeArithmetic.dynamicThreshold(token, 0, token.length, dynamic.k());
                case SiteThreshold.Static fixed -> channelThresholds[0];
            };
            for (int channel = 0; channel < token.length; channel++) {
                float activation = token[channel];
                float theta = perChannel ? channelThresholds[channel] : tokenThreshold;
                int count = SpikeArithmetic.count(activation, theta, limit);
                int magnitude = Math.abs(count);
                double error = activation - (double) theta * count;
                error2 += error * error;
                signal2 += (double) activation * activation;
                magnitudes += magnitude;
                zeroCount += magnitude == 0 ? 1 : 0;
                active[channel] |= magnitude != 0;
                saturatedCount += magnitude == limit ? 1 : 0;
                eventCount += bitwise ? Integer.bitCount(magnitude) : magnitude;
            }
            valueCount += token.length;
        }
        values = valueCount;
        events = eventCount;
        zeros = zeroCount;
        saturated = saturatedCount;
        sumOfMagnitudes = magnitudes;
        squaredError = error2;
        squaredSignal = signal2;
    }

    /** The same statistics under another site's name: a site that reads the same activations with the same threshold. */
    public SpikeStatistics copyFor(String otherSite) {
        SpikeStatistics copy = new SpikeStatistics(otherSite, threshold, settings, window);
        copy.activeChannels = activeChannels == null ? null : activeChannels.clone();
        copy.values = values;
        copy.events = events;
        copy.zeros = zeros;
        copy.saturated = saturated;
        copy.sumOfMagnitudes = sumOfMagnitudes;
        copy.squaredError = squaredError;
        copy.squaredSignal = squaredSignal;
        return copy;
    }

    public String site() {
        return site;
    }

    public SiteThreshold threshold() {
        return threshold;
    }

    /** Share of window slots without a spike. */
    public double sparsity() {
        return values == 0 ? 0 : 1 - (double) events / ((double) values * window);
    }

    public double firingRate() {
        return 1 - sparsity();
    }

    /** Share of counts that are zero. */
    public double zeroCountShare() {
        return values == 0 ? 0 : (double) zeros / values;
    }

    public double saturation() {
        return values == 0 ? 0 : (double) saturated / values;
    }

    public double meanCount() {
        return values == 0 ? 0 : sumOfMagnitudes / values;
    }

    /** Spike events per input value, which the manifest's energy estimate uses. */
    public double eventsPerInput() {
        return values == 0 ? 0 : (double) events / values;
    }

    /** {@code Σ(a - θs)² / Σa²}: 0 for a perfect code, 1 when every count is zero. */
    public double reconstructionError() {
        return squaredSignal == 0 ? 0 : squaredError / squaredSignal;
    }

    public int silentChannels() {
        if (activeChannels == null) {
            return 0;
        }
        int silent = 0;
        for (boolean active : activeChannels) {
            if (!active) {
                silent++;
            }
        }
        return silent;
    }

    public int channels() {
        return activeChannels == null ? 0 : activeChannels.length;
    }

    public long values() {
        return values;
    }

    public long events() {
        return events;
    }

    public int window() {
        return window;
    }
}
