package dev.spikeconv.converter.metrics;

import dev.spikeconv.converter.kernels.VectorExponential;
import dev.spikeconv.converter.kernels.VectorKernels;
import java.util.stream.IntStream;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Distances between the next-token distributions two models give for the same position. Comparisons of many
 * positions take each model's log-sum-exps once ({@link #logSumExps}): the exponentials dominate the cost.
 */
public final class Divergence {
    private static final VectorSpecies<Double> DOUBLES = VectorKernels.DOUBLE_SPECIES;
    private static final VectorSpecies<Float> FLOATS = VectorKernels.WIDENING_SPECIES;

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

    /**
     * {@code log Σ exp(logits)}, shifted by the maximum so no exponential overflows: a vector of doubles at a time (the
     * exponentials dominate every comparison of a large vocabulary); {@link #logSumExpScalar} is its oracle.
     */
    public static double logSumExp(float[] logits) {
        FloatVector largest = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
        int i = 0;
        int upperBound = FLOATS.loopBound(logits.length);
        for (; i < upperBound; i += FLOATS.length()) {
            largest = largest.max(FloatVector.fromArray(FLOATS, logits, i));
        }
        double maximum = largest.reduceLanes(VectorOperators.MAX);
        for (; i < logits.length; i++) {
            maximum = Math.max(maximum, logits[i]);
        }
        DoubleVector sums = DoubleVector.zero(DOUBLES);
        i = 0;
        for (; i < upperBound; i += FLOATS.length()) {
            sums = sums.add(VectorExponential.exp(widened(logits, i).sub(maximum)));
        }
        double sum = VectorKernels.sumInLaneOrder(sums);
        for (; i < logits.length; i++) {
            sum += Math.exp(logits[i] - maximum);
        }
        return maximum + Math.log(sum);
    }

    /** The definition of {@link #logSumExp}, one value at a time. */
    public static double logSumExpScalar(float[] logits) {
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

    /** The floats from {@code offset} as doubles, as many as a vector of doubles holds. */
    private static DoubleVector widened(float[] values, int offset) {
        return VectorKernels.widened(FloatVector.fromArray(FLOATS, values, offset));
    }

    /** {@link #logSumExp} of every position, positions in parallel (each is computed alone, so the result is the same). */
    public static double[] logSumExps(float[][] logits) {
        return IntStream.range(0, logits.length).parallel().mapToDouble(t -> logSumExp(logits[t])).toArray();
    }

    /** {@code KL(p || q)} in nats, where p comes from {@code reference} and q from {@code candidate}. */
    public static double kullbackLeibler(float[] reference, float[] candidate) {
        return kullbackLeibler(reference, logSumExp(reference), candidate, logSumExp(candidate));
    }

    /** {@code KL(p || q)} given both sides' {@link #logSumExp}, a vector at a time; {@link #kullbackLeiblerScalar} is its oracle. */
    public static double kullbackLeibler(float[] reference, double referenceLogSum, float[] candidate, double candidateLogSum) {
        DoubleVector divergences = DoubleVector.zero(DOUBLES);
        int i = 0;
        int upperBound = FLOATS.loopBound(reference.length);
        for (; i < upperBound; i += FLOATS.length()) {
            DoubleVector logP = widened(reference, i).sub(referenceLogSum);
            DoubleVector p = VectorExponential.exp(logP);
            DoubleVector terms = p.mul(logP.sub(widened(candidate, i).sub(candidateLogSum)));
            // p = 0 adds nothing, even where q = 0 too (0 · ∞ would be NaN).
            divergences = divergences.add(terms, p.compare(VectorOperators.GT, 0));
        }
        double divergence = VectorKernels.sumInLaneOrder(divergences);
        for (; i < reference.length; i++) {
            divergence += term(reference[i] - referenceLogSum, candidate[i] - candidateLogSum);
        }
        return Math.max(0, divergence);
    }

    /** The definition of {@link #kullbackLeibler(float[], double, float[], double)}, one value at a time. */
    public static double kullbackLeiblerScalar(float[] reference, double referenceLogSum, float[] candidate, double candidateLogSum) {
        double divergence = 0;
        for (int i = 0; i < reference.length; i++) {
            divergence += term(reference[i] - referenceLogSum, candidate[i] - candidateLogSum);
        }
        return Math.max(0, divergence);
    }

    /** {@code p (log p - log q)}, 0 where p is 0. */
    private static double term(double logP, double logQ) {
        double p = Math.exp(logP);
        return p > 0 ? p * (logP - logQ) : 0;
    }

    /** KL of every position given both sides' {@link #logSumExps}, positions in parallel. */
    public static double[] kullbackLeiblers(float[][] reference, double[] referenceLogSums, float[][] candidate, double[] candidateLogSums) {
        return IntStream.range(0, reference.length).parallel()
                .mapToDouble(t -> kullbackLeibler(reference[t], referenceLogSums[t], candidate[t], candidateLogSums[t])).toArray();
    }

    /** The index of the largest logit, the first of equal ones: greedy decoding's choice and top-1 agreement's. */
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
