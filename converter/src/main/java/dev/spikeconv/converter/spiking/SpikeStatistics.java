package dev.spikeconv.converter.spiking;

import dev.spikeconv.converter.kernels.VectorKernels;
import dev.spikeconv.formats.model.SpikeSettings;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Spike activity at one projection input, accumulated over tokens: counts are computed as the model
 * does ({@link SpikeArithmetic} with the site's {@link SiteThreshold}). A count s sends |s| unit spikes
 * (binary, ternary) or popcount(|s|) bit spikes (bitwise) over the coding's time window; sparsity is the
 * share of window slots without a spike (SpikingBrain's definition). Reconstruction error is
 * {@code Σ(a - θs)² / Σa²}.
 */
public final class SpikeStatistics {
    private static final VectorSpecies<Double> DOUBLES = VectorKernels.DOUBLE_SPECIES;
    /** As many floats (and ints) as {@link #DOUBLES} has lanes, so each widens to one vector of doubles. */
    private static final VectorSpecies<Float> FLOATS = VectorKernels.WIDENING_SPECIES;
    private static final VectorSpecies<Integer> INTEGERS = FLOATS.vectorShape().withLanes(int.class);
    /** Adding then subtracting 1.5 · 2^23 rounds half to even, as {@link Math#rint}, below 2^22; larger quotients clamp to ±T anyway. */
    private static final float ROUNDING = 0x1.8p23f;

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

    /**
     * Adds the activations of some tokens, {@code [tokens][channels]}, a vector of channels at a time: counts as the
     * model computes them (float division, rounding half to even, clamping), integer tallies exact, squared errors and
     * values summed in double per lane. The statistics test recounts every value one at a time.
     */
    public void add(float[][] activations) {
        for (float[] token : activations) {
            addToken(token, 0, token.length);
        }
    }

    /** Adds {@code tokens} rows of {@code width} activations stored one after another, as the reference engine holds them. */
    public void add(float[] activations, int tokens, int width) {
        for (int token = 0; token < tokens; token++) {
            addToken(activations, token * width, width);
        }
    }

    private void addToken(float[] rows, int offset, int width) {
        int limit = settings.timeSteps();
        boolean bitwise = settings.coding() == SpikeSettings.Coding.BITWISE;
        float[] channelThresholds = threshold instanceof SiteThreshold.Static fixed ? fixed.thresholds() : null;
        boolean perChannel = channelThresholds != null && channelThresholds.length > 1;
        if (activeChannels == null) {
            activeChannels = new boolean[width];
        }
        float tokenThreshold = switch (threshold) {
            case SiteThreshold.Dynamic dynamic -> SpikeArithmetic.dynamicThreshold(rows, offset, width, dynamic.k());
            case SiteThreshold.Static fixed -> channelThresholds[0];
        };
        FloatVector tokenThresholds = FloatVector.broadcast(FLOATS, tokenThreshold);
        IntVector magnitudeSums = IntVector.zero(INTEGERS);
        IntVector eventSums = IntVector.zero(INTEGERS);
        DoubleVector errorSums = DoubleVector.zero(DOUBLES);
        DoubleVector signalSums = DoubleVector.zero(DOUBLES);
        long tokenZeros = 0;
        long tokenSaturated = 0;
        int channel = 0;
        int upperBound = FLOATS.loopBound(width);
        for (; channel < upperBound; channel += FLOATS.length()) {
            FloatVector activation = FloatVector.fromArray(FLOATS, rows, offset + channel);
            FloatVector theta = perChannel ? FloatVector.fromArray(FLOATS, channelThresholds, channel) : tokenThresholds;
            FloatVector count = activation.div(theta).add(ROUNDING).sub(ROUNDING).max(-limit).min(limit);
            // As an int cast, a NaN count becomes 0, as in SpikeArithmetic.count.
            IntVector magnitude = ((IntVector) count.convertShape(VectorOperators.F2I, INTEGERS, 0)).abs();
            VectorMask<Integer> silent = magnitude.compare(VectorOperators.EQ, 0);
            tokenZeros += silent.trueCount();
            tokenSaturated += magnitude.compare(VectorOperators.EQ, limit).trueCount();
            VectorMask.fromArray(INTEGERS, activeChannels, channel).or(silent.not()).intoArray(activeChannels, channel);
            magnitudeSums = magnitudeSums.add(magnitude);
            eventSums = eventSums.add(bitwise ? magnitude.lanewise(VectorOperators.BIT_COUNT) : magnitude);
            DoubleVector value = VectorKernels.widened(activation);
            DoubleVector error = value.sub(VectorKernels.widened(theta).mul(VectorKernels.widened(count)));
            errorSums = errorSums.add(error.mul(error));
            signalSums = signalSums.add(value.mul(value));
        }
        long magnitudes = magnitudeSums.reduceLanesToLong(VectorOperators.ADD);
        long tokenEvents = eventSums.reduceLanesToLong(VectorOperators.ADD);
        double error2 = VectorKernels.sumInLaneOrder(errorSums);
        double signal2 = VectorKernels.sumInLaneOrder(signalSums);
        for (; channel < width; channel++) {
            float activation = rows[offset + channel];
            float theta = perChannel ? channelThresholds[channel] : tokenThreshold;
            int count = SpikeArithmetic.count(activation, theta, limit);
            int magnitude = Math.abs(count);
            double error = activation - (double) theta * count;
            error2 += error * error;
            signal2 += (double) activation * activation;
            magnitudes += magnitude;
            tokenZeros += magnitude == 0 ? 1 : 0;
            activeChannels[channel] |= magnitude != 0;
            tokenSaturated += magnitude == limit ? 1 : 0;
            tokenEvents += bitwise ? Integer.bitCount(magnitude) : magnitude;
        }
        values += width;
        events += tokenEvents;
        zeros += tokenZeros;
        saturated += tokenSaturated;
        sumOfMagnitudes += magnitudes;
        squaredError += error2;
        squaredSignal += signal2;
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
