package dev.spikeconv.converter.metrics;

/** Distances between the next-token distributions two models give for the same position. */
public final class Divergence {
    private Divergence() {}

    /** {@code log softmax(logits)} in double precision. */
    public static double[] logSoftmax(float[] logits) {
        double maximum = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            maximum = Math.max(maximum, logit);
        }
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit - maximum);
        }
        double logSum = maximum + Math.log(sum);
        double[] result = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            result[i] = logits[i] - logSum;
        }
        return result;
    }

    /** {@code KL(p || q)} in nats, where p comes from {@code reference} and q from {@code candidate}. */
    public static double kullbackLeibler(float[] reference, float[] candidate) {
        double[] logP = logSoftmax(reference);
        double[] logQ = logSoftmax(candidate);
        double divergence = 0;
        for (int i = 0; i < logP.length; i++) {
            double p = Math.exp(logP[i]);
            if (p > 0) {
                divergence += p * (logP[i] - logQ[i]);
            }
        }
        return Math.max(0, divergence);
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
        double sum = 0;
        for (int t = 0; t < reference.length; t++) {
            sum += kullbackLeibler(reference[t], candidate[t]);
        }
        return sum / reference.length;
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
