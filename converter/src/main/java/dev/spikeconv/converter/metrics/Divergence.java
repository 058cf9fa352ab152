package dev.spikeconv.converter.metrics;

import java.util.stream.IntStream;

/**
 * Distances between the next-token distributions two models give for the same position. Comparisons of many
 * positions take each model's log-sum-exps once ({@link #logSumExps}): the exponentials dominate the cost.
 */
public final class Divergence {
    private Divergence() {}

    /** {@code log softmax(logits)} in double precision. */
    public static double[] logSoftmax(float[] logits) {
        double logSum = logSumExp(logits);
        double[] result = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            result[i] = logits[i] - logSum;
        }
        return result;
    }

    /** {@code log Σ exp(logits)}, shifted by the maximum so no exponential overflows. */
    public static double logSumExp(float[] logits) {
        double maximum = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            maximum = Math.max(maximum, logit);
        }
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit - maximum);
        }
        return maximum + Math.log(sum);
    }

    /** {@link #logSumExp} of every position, positions in parallel (each is computed alone, so the result is the same). */
    public static double[] logSumExps(float[][] logits) {
        return IntStream.range(0, logits.length).parallel().mapToDouble(t -> logSumExp(logits[t])).toArray();
    }

    /** {@code KL(p || q)} in nats, where p comes from {@code reference} and q from {@code candidate}. */
    public static double kullbackLeibler(float[] reference, float[] candidate) {
        return kullbackLeibler(reference, logSumExp(reference), candidate, logSumExp(candidate));
    }

    /** {@code KL(p || q)} given both sides' {@link #logSumExp}. */
    public static double kullbackLeibler(float[] reference, double referenceLogSum, float[] candidate, double candidateLogSum) {
        double divergence = 0;
        for (int i = 0; i < reference.length; i++) {
            double logP = reference[i] - referenceLogSum;
            double p = Math.exp(logP);
            if (p > 0) {
                divergence += p * (logP - (candidate[i] - candidateLogSum));
            }
        }
        return Math.max(0, divergence);
    }

    /** KL of every position given both sides' {@link #logSumExps}, positions in parallel. */
    public static double[] kullbackLeiblers(float[][] reference, double[] referenceLogSums, float[][] candidate, double[] candidateLogSums) {
        return IntStream.range(0, reference.length).parallel()
                .mapToDouble(t -> kullbackLeibler(reference[t], referenceLogSums[t], candidate[t], candidateLogSums[t])).toArray();
    }

    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Mean KL over positions. */
    public static double meanKullbackLeibler(float[][] reference, float[][] candidate) {
        return mean(kullbackLeiblers(reference, logSumExps(reference), candidate, logSumExps(candidate)));
    }

    /** The mean of per-position values, summed in position order. */
    public static double mean(double[] values) {
        double sum = 0;
        for (double value : values) {
            sum += value;
        }
        return sum / values.length;
    }

    /** Share of positions where both pick the same most likely token. */
    public static double topOneAgreement(float[][] reference, float[][] candidate) {
        int same = 0;
        for (int t = 0; t < reference.length; t++) {
            if (argmax(reference[t]) == argmax(candidate[t])) {
                same++;
            }
        }
        return (double) same / reference.length;
    }
}
