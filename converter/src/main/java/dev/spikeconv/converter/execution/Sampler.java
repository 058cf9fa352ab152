package dev.spikeconv.converter.execution;

import dev.spikeconv.converter.metrics.Divergence;
import java.util.Arrays;
import java.util.SplittableRandom;

/** Picks the next token from logits as {@link SamplingOptions} say; seeded, so a run can be repeated. */
public final class Sampler {
    private final SamplingOptions options;
    private final SplittableRandom random;

    public Sampler(SamplingOptions options) {
        this.options = options;
        this.random = new SplittableRandom(options.seed());
    }

    public int next(float[] logits) {
        if (options.temperature() == 0) {
            return Divergence.argmax(logits);
        }
        double[] probabilities = new double[logits.length];
        double maximum = logits[Divergence.argmax(logits)];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            probabilities[i] = Math.exp((logits[i] - maximum) / options.temperature());
            sum += probabilities[i];
        }
        for (int i = 0; i < probabilities.length; i++) {
            probabilities[i] /= sum;
        }
        return options.topP() < 1 ? sampleNucleus(probabilities) : sample(probabilities, random.nextDouble());
    }

    private static int sample(double[] probabilities, double coin) {
        double cumulative = 0;
        for (int i = 0; i < probabilities.length; i++) {
            cumulative += probabilities[i];
            if (coin < cumulative) {
                return i;
            }
        }
        return probabilities.length - 1; // rounding left the coin above the last cumulative sum
    }

    /** Top-p: sample among the most probable tokens whose probabilities first reach {@code topP}. */
    private int sampleNucleus(double[] probabilities) {
        Integer[] order = new Integer[probabilities.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> Double.compare(probabilities[b], probabilities[a]));
        double cumulative = 0;
        int last = order.length - 1;
        for (int i = 0; i < order.length; i++) {
            cumulative += probabilities[order[i]];
            if (cumulative >= options.topP()) {
                last = i;
                break;
            }
        }
        double coin = random.nextDouble() * cumulative;
        double running = 0;
        for (int i = 0; i <= last; i++) {
            running += probabilities[order[i]];
            if (coin < running) {
                return order[i];
            }
        }
        return order[last];
    }
}
