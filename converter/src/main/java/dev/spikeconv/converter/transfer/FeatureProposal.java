package dev.spikeconv.converter.transfer;

import dev.spikeconv.converter.kernels.VectorKernels;
import dev.spikeconv.converter.reference.HybridRecurrence;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Where a hybrid layer draws its random feature directions: around the sums {@code q̃ + k̃} of the query-key pairs that
 * carry its older keys' weight, with importance weights that keep the estimate of {@code e^{q̃·k̃}} unbiased for every
 * pair (docs/design.md §4).
 *
 * <p>One feature {@code exp(ω·x̃ - |x̃|²/2)} with {@code ω ~ N(0, I)} estimates {@code e^{q̃·k̃}} with a relative variance
 * of {@code e^{|q̃ + k̃|²} - 1}: hopeless for a query and the key it retrieves, which is where attention beyond the window
 * matters. Drawn from {@code N(μ, I)} and weighted by {@code N(ω; 0, I) / N(ω; μ, I)}, the variance is
 * {@code e^{|q̃ + k̃ - μ|²} - 1}, none at all for a pair whose sum is {@code μ}. The proposal mixes the standard normal
 * (half the features, so no pair's variance grows much) with normals around k-means centres of the sums of each query
 * and its strongest older key; each feature carries half its log weight as a bias, so a query's and a key's features
 * multiply to the whole weight.
 */
final class FeatureProposal {
    /** Centres k-means finds among the pairs' sums. */
    static final int CENTRES = 16;
    /** The share of features drawn around the centres; the rest come from the standard normal. */
    static final double CENTRED_SHARE = 0.5;
    /** A pair is gathered when its older key scores within this much of the query's best window score: it carries weight. */
    static final double SCORE_MARGIN = 1;
    /** Most pairs kept for k-means; beyond it every n-th is. */
    static final int MOST_PAIRS = 8192;
    private static final int ITERATIONS = 20;

    private final int d;
    private final List<float[]> sums = new ArrayList<>();

    FeatureProposal(int d) {
        this.d = d;
    }

    /**
     * Gathers, for every query of one sequence from position 0 and every head, the scaled sum {@code q̃ + k̃} with its
     * strongest key older than the window when that key scores within {@link #SCORE_MARGIN} of the window's best.
     * {@code queries} {@code [count, heads·d]} and {@code keys} {@code [count, kvHeads·d]} are rotated.
     */
    void addSequence(float[] queries, float[] keys, int count, int heads, int keyValueHeads, int window, int sinks) {
        int group = heads / keyValueHeads;
        float root = (float) Math.pow(d, -0.25);
        float scale = (float) (1 / Math.sqrt(d));
        for (int head = 0; head < heads; head++) {
            int keyOffset = head / group * d;
            for (int query = window + sinks; query < count; query++) {
                int queryOffset = (query * heads + head) * d;
                float windowBest = Float.NEGATIVE_INFINITY;
                float olderBest = Float.NEGATIVE_INFINITY;
                int strongest = -1;
                for (int key = 0; key <= query; key++) {
                    float score = VectorKernels.dot(queries, queryOffset, keys, key * keyValueHeads * d + keyOffset, d) * scale;
                    boolean inWindow = key > query - window || key < sinks;
                    if (inWindow) {
                        windowBest = Math.max(windowBest, score);
                    }
                    else if (score > olderBest) {
                        olderBest = score;
                        strongest = key;
                    }
                }
                if (strongest >= 0 && olderBest > windowBest - SCORE_MARGIN) {
                    float[] sum = new float[d];
                    for (int i = 0; i < d; i++) {
                        sum[i] = (queries[queryOffset + i] + keys[strongest * keyValueHeads * d + keyOffset + i]) * root;
                    }
                    sums.add(sum);
                }
            }
        }
    }

    /** How many pairs were gathered. */
    int pairs() {
        return sums.size();
    }

    /**
     * {@code m} directions and their biases, drawn with {@code seed}: from the standard normal alone when no pair was
     * gathered (biases 0), otherwise from the mixture.
     */
    HybridRecurrence.Features draw(int m, long seed) {
        Random random = new Random(seed);
        float[][] centres = centres(random);
        float[] directions = new float[m * d];
        float[] biases = new float[m];
        double centred = centres.length == 0 ? 0 : CENTRED_SHARE;
        double[] omega = new double[d];
        for (int f = 0; f < m; f++) {
            float[] centre = random.nextDouble() < centred ? centres[random.nextInt(centres.length)] : null;
            for (int i = 0; i < d; i++) {
                omega[i] = (centre == null ? 0 : centre[i]) + random.nextGaussian();
                directions[f * d + i] = (float) omega[i];
            }
            biases[f] = (float) bias(omega, centres, centred);
        }
        return new HybridRecurrence.Features(directions, biases);
    }

    /**
     * The bias of direction {@code ω}: half the log importance weight {@code N(ω; 0, I) / p(ω)}, where
     * {@code p(ω) / N(ω; 0, I) = (1 - share) + share / K · Σ_j e^{ω·μ_j - |μ_j|²/2}}.
     */
    private double bias(double[] omega, float[][] centres, double centred) {
        double ratio = 1 - centred;
        for (float[] centre : centres) {
            double exponent = 0;
            for (int i = 0; i < d; i++) {
                exponent += omega[i] * centre[i] - centre[i] * centre[i] / 2.0;
            }
            ratio += centred / centres.length * Math.exp(exponent);
        }
        return -0.5 * Math.log(ratio);
    }

    /** k-means centres of the gathered sums (at most {@link #MOST_PAIRS} of them, evenly spread), seeded from {@code random}. */
    private float[][] centres(Random random) {
        List<float[]> points = new ArrayList<>();
        int stride = Math.max(1, (sums.size() + MOST_PAIRS - 1) / MOST_PAIRS);
        for (int i = 0; i < sums.size(); i += stride) {
            points.add(sums.get(i));
        }
        float[][] centres = new float[Math.min(CENTRES, points.size())][];
        for (int j = 0; j < centres.length; j++) {
            centres[j] = points.get(random.nextInt(points.size())).clone();
        }
        for (int iteration = 0; iteration < ITERATIONS && centres.length > 0; iteration++) {
            double[][] totals = new double[centres.length][d];
            int[] members = new int[centres.length];
            for (float[] point : points) {
                int nearest = nearest(point, centres);
                members[nearest]++;
                for (int i = 0; i < d; i++) {
                    totals[nearest][i] += point[i];
                }
            }
            for (int j = 0; j < centres.length; j++) {
                for (int i = 0; i < d && members[j] > 0; i++) {
                    centres[j][i] = (float) (totals[j][i] / members[j]);
                }
            }
        }
        return centres;
    }

    private int nearest(float[] point, float[][] centres) {
        int nearest = 0;
        double closest = Double.POSITIVE_INFINITY;
        for (int j = 0; j < centres.length; j++) {
            double distance = 0;
            for (int i = 0; i < d; i++) {
                double difference = point[i] - centres[j][i];
                distance += difference * difference;
            }
            if (distance < closest) {
                closest = distance;
                nearest = j;
            }
        }
        return nearest;
    }
}
