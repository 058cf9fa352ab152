package dev.spikeconv.converter.verify;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * NLL and KL of each predicted token split by how far back the same token last occurred in its sequence (SpikingBrain's
 * promise is that GLA carries what a sliding window no longer sees): within the horizon (the smallest window), only
 * beyond it, or never before; and in distance buckets. Fed one sequence at a time with both models' per-position
 * log-probabilities of the true next token and KL.
 */
final class RecurrenceMeasure {
    /** Upper ends of the distance buckets; the last bucket is everything beyond. */
    static final int[] BUCKET_ENDS = {64, 256, 1024, 4096};
    private static final String[] BUCKET_NAMES = {"0-64", "64-256", "256-1k", "1k-4k", "beyond 4k"};
    private static final int FIRST = BUCKET_NAMES.length;

    private final int horizon;
    private final int vocabulary;
    private final Sums[] buckets = new Sums[BUCKET_NAMES.length];
    private final Sums within = new Sums();
    private final Sums beyond = new Sums();
    private final Sums first = new Sums();
    private int longestSequence;

    RecurrenceMeasure(int horizon, int vocabulary) {
        this.horizon = horizon;
        this.vocabulary = vocabulary;
        Arrays.setAll(buckets, index -> new Sums());
    }

    /**
     * One sequence: {@code referenceLogProbability[t]} and {@code bundleLogProbability[t]} of token {@code sequence[t + 1]}
     * at position t, and the KL there.
     */
    void add(int[] sequence, double[] referenceLogProbability, double[] bundleLogProbability, double[] kl) {
        longestSequence = Math.max(longestSequence, sequence.length);
        int[] last = new int[vocabulary];
        Arrays.fill(last, -1);
        if (sequence.length > 0) {
            last[sequence[0]] = 0;
        }
        for (int t = 0; t + 1 < sequence.length; t++) {
            int target = sequence[t + 1];
            int previous = last[target];
            double referenceNll = -referenceLogProbability[t];
            double bundleNll = -bundleLogProbability[t];
            if (previous < 0) {
                first.add(referenceNll, bundleNll, kl[t]);
            }
            else {
                int distance = t + 1 - previous;
                buckets[bucket(distance)].add(referenceNll, bundleNll, kl[t]);
                (distance <= horizon ? within : beyond).add(referenceNll, bundleNll, kl[t]);
            }
            last[target] = t + 1;
        }
    }

    static int bucket(int distance) {
        for (int index = 0; index < BUCKET_ENDS.length; index++) {
            if (distance <= BUCKET_ENDS[index]) {
                return index;
            }
        }
        return BUCKET_ENDS.length;
    }

    VerifyReport.LongRange result() {
        List<VerifyReport.Bucket> distances = new ArrayList<>();
        for (int index = 0; index < buckets.length; index++) {
            distances.add(buckets[index].bucket(BUCKET_NAMES[index]));
        }
        return new VerifyReport.LongRange(horizon, longestSequence, distances, within.bucket("within " + horizon), beyond.bucket("only beyond " + horizon),
                first.bucket("first occurrence"));
    }

    private static final class Sums {
        private int positions;
        private double referenceNll;
        private double bundleNll;
        private double kl;

        void add(double reference, double bundle, double divergence) {
            positions++;
            referenceNll += reference;
            bundleNll += bundle;
            kl += divergence;
        }

        VerifyReport.Bucket bucket(String name) {
            return positions == 0 ? new VerifyReport.Bucket(name, 0, Double.NaN, Double.NaN, Double.NaN)
                    : new VerifyReport.Bucket(name, positions, referenceNll / positions, bundleNll / positions, kl / positions);
        }
    }
}
