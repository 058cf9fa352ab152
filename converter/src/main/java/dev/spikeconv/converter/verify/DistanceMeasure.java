package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.metrics.Divergence;
import java.util.Arrays;

/**
 * The next-token distributions of the bundle against the dense model, fed one sequence at a time (so no run holds every
 * position's logits): KL per position, top-1 agreement, perplexity of both (each sequence's last token predicts
 * nothing inside it), the change of the true token's probability, and perplexity past the largest sliding window. verify
 * measures its bundle with it, plan each plan it scores.
 */
public final class DistanceMeasure {
    private final double[] klPerPosition;
    private final int window;
    private int agreeing;
    private int positions;
    private double referenceLoss;
    private double bundleLoss;
    private double probabilityChange;
    private int predicted;
    private double referenceLossBeyond;
    private double bundleLossBeyond;
    private int positionsBeyond;
    private final RecurrenceMeasure recurrence;

    /** {@code window}: the largest sliding window, 0 without one; {@code horizon}: the smallest (64 without one), for the long-range split. */
    public DistanceMeasure(int tokens, int window, int horizon, int vocabulary) {
        this.klPerPosition = new double[tokens];
        this.window = window;
        this.recurrence = new RecurrenceMeasure(horizon, vocabulary);
    }

    /**
     * One sequence from token {@code start} of the evaluation: both models' logits {@code [n, vocab]} flat and the
     * sequence's tokens.
     */
    public void add(int start, int[] sequence, float[] referenceLogits, float[] bundleLogits, int vocabulary) {
        float[][] reference = rows(referenceLogits, sequence.length, vocabulary);
        float[][] bundle = rows(bundleLogits, sequence.length, vocabulary);
        double[] referenceSums = Divergence.logSumExps(reference);
        double[] bundleSums = Divergence.logSumExps(bundle);
        double[] kl = Divergence.kullbackLeiblers(reference, referenceSums, bundle, bundleSums);
        System.arraycopy(kl, 0, klPerPosition, start, kl.length);
        double[] referenceTrue = new double[sequence.length];
        double[] bundleTrue = new double[sequence.length];
        for (int t = 0; t < sequence.length; t++) {
            positions++;
            if (Divergence.argmax(reference[t]) == Divergence.argmax(bundle[t])) {
                agreeing++;
            }
            if (t + 1 == sequence.length) {
                continue; // the last token of a sequence predicts nothing inside it
            }
            int next = sequence[t + 1];
            double logReference = reference[t][next] - referenceSums[t];
            double logBundle = bundle[t][next] - bundleSums[t];
            referenceTrue[t] = logReference;
            bundleTrue[t] = logBundle;
            referenceLoss -= logReference;
            bundleLoss -= logBundle;
            probabilityChange += Math.exp(logBundle) - Math.exp(logReference);
            predicted++;
            if (window > 0 && t >= window) {
                referenceLossBeyond -= logReference;
                bundleLossBeyond -= logBundle;
                positionsBeyond++;
            }
        }
        recurrence.add(sequence, referenceTrue, bundleTrue, kl);
    }

    public VerifyReport.LongRange longRange() {
        return recurrence.result();
    }

    public VerifyReport.Distance distance() {
        double[] sorted = klPerPosition.clone();
        Arrays.sort(sorted);
        double referencePerplexity = Math.exp(referenceLoss / Math.max(1, predicted));
        double bundlePerplexity = Math.exp(bundleLoss / Math.max(1, predicted));
        return new VerifyReport.Distance(Arrays.stream(klPerPosition).average().orElse(0), Verifier.percentile(sorted, 0.5), Verifier.percentile(sorted, 0.9),
                Verifier.percentile(sorted, 0.99), positions == 0 ? 0 : (double) agreeing / positions, referencePerplexity, bundlePerplexity,
                bundlePerplexity / referencePerplexity, probabilityChange / Math.max(1, predicted), klPerPosition);
    }

    /** Perplexity past the largest window, or null when no position lies there. */
    VerifyReport.BeyondWindow beyondWindow() {
        return positionsBeyond == 0 ? null : new VerifyReport.BeyondWindow(window, positionsBeyond, Math.exp(referenceLossBeyond / positionsBeyond),
                Math.exp(bundleLossBeyond / positionsBeyond));
    }

    static float[][] rows(float[] flat, int count, int width) {
        float[][] rows = new float[count][];
        for (int t = 0; t < count; t++) {
            rows[t] = Arrays.copyOfRange(flat, t * width, (t + 1) * width);
        }
        return rows;
    }
}
