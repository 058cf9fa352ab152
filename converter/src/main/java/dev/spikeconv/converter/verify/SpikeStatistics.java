package dev.spikeconv.converter.verify;

import dev.spikeconv.formats.model.SpikeSettings;

/**
 * Spike activity at one projection input, accumulated over tokens: counts are computed as the model
 * does ({@code θ = clamp(mean|a|/k, 1e-5, 1e4)}, {@code s = clamp(round(a/θ), ±T)}). A count s sends
 * |s| unit spikes (binary, ternary) or popcount(|s|) bit spikes (bitwise) over the coding's time window;
 * sparsity is the share of window slots without a spike (SpikingBrain's definition).
 */
public final class SpikeStatistics {
    private final String site;
    private final SpikeSettings settings;
    private final int window;
    private boolean[] activeChannels;
    private long values;
    private long events;
    private long zeros;
    private long saturated;
    private double sumOfMagnitudes;

    public SpikeStatistics(String site, SpikeSettings settings, int window) {
        this.site = site;
        this.settings = settings;
        this.window = Math.max(1, window);
    }

    /** Adds the activations of some tokens, {@code [tokens][channels]}. */
    public void add(float[][] activations) {
        float k = (float) settings.k();
        int limit = settings.timeSteps();
        for (float[] token : activations) {
            if (activeChannels == null) {
                activeChannels = new boolean[token.length];
            }
            float sum = 0;
            for (float value : token) {
                sum += Math.abs(value);
            }
            float threshold = Math.max(1e-5f, Math.min(1e4f, sum / token.length / k));
            for (int channel = 0; channel < token.length; channel++) {
                int count = (int) Math.max(-limit, Math.min(limit, Math.rint(token[channel] / threshold)));
                int magnitude = Math.abs(count);
                values++;
                sumOfMagnitudes += magnitude;
                if (magnitude == 0) {
                    zeros++;
                }
                else {
                    activeChannels[channel] = true;
                }
                if (magnitude == limit) {
                    saturated++;
                }
                events += settings.coding() == SpikeSettings.Coding.BITWISE ? Integer.bitCount(magnitude) : magnitude;
            }
        }
    }

    public String site() {
        return site;
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

    long values() {
        return values;
    }

    long events() {
        return events;
    }

    int window() {
        return window;
    }
}
