package dev.spikeconv.converter.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.spikeconv.converter.reference.HybridRecurrence;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The directions a hybrid layer draws around its query-key pairs keep the features an estimate of {@code e^{q·k/√d}}:
 * within a fixed factor, feature by feature, for a pair at the centres; on average over the draws for any other pair.
 */
class FeatureProposalTest {
    private static final int D = 4;

    /**
     * One head whose every query has the same strongest older key: k-means finds that sum as every centre. For that pair
     * {@code e^{ω·(q̃ + k̃)} N(ω; 0, I) = e^{|q̃ + k̃|²/2} N(ω; q̃ + k̃, I)}, so every feature's estimate, whichever half of
     * the mixture drew it, is the exponential times {@code N(ω; μ, I) / p(ω) <= 1 / share}: bounded, where a standard
     * normal feature's ratio to it grows as {@code e^{ω·(q̃ + k̃)}}.
     */
    @Test
    void everyFeatureEstimatesAPairAtTheCentresWithinTheMixturesFactor() {
        int window = 2;
        int count = 12;
        float[] query = {0.9f, -0.4f, 0.7f, 0.2f};
        float[] key = {1.1f, -0.2f, 0.5f, 0.4f};
        float[] queries = new float[count * D];
        float[] keys = new float[count * D];
        for (int t = 0; t < count; t++) {
            System.arraycopy(query, 0, queries, t * D, D);
            // key 0 matches every query; the others score nothing
            if (t == 0) {
                System.arraycopy(key, 0, keys, 0, D);
            }
        }
        FeatureProposal proposal = new FeatureProposal(D);
        proposal.addSequence(queries, keys, count, 1, 1, window, 0);
        assertThat(proposal.pairs()).isEqualTo(count - window);
        HybridRecurrence.Features features = proposal.draw(64, 3);
        double root = Math.pow(D, -0.25);
        double exponential = Math.exp(dot(query, key) / Math.sqrt(D));
        for (int f = 0; f < 64; f++) {
            double ratio = feature(features, f, query, root) * feature(features, f, key, root) * 64 / exponential;
            assertThat(ratio).as("feature %d", f).isPositive().isLessThanOrEqualTo(1 / FeatureProposal.CENTRED_SHARE * (1 + 1e-4));
        }
    }

    /** Averaged over many draws, the biased directions estimate the exponential of pairs nowhere near a centre too. */
    @Test
    void theEstimateStaysUnbiasedAwayFromTheCentres() {
        int count = 10;
        SplittableRandom random = new SplittableRandom(11);
        float[] queries = new float[count * D];
        float[] keys = new float[count * D];
        for (int i = 0; i < queries.length; i++) {
            queries[i] = (float) random.nextGaussian(0, 0.8);
            keys[i] = (float) random.nextGaussian(0, 0.8);
        }
        FeatureProposal proposal = new FeatureProposal(D);
        proposal.addSequence(queries, keys, count, 1, 1, 2, 0);
        float[] query = {-0.3f, 0.2f, 0.1f, -0.4f};
        float[] key = {0.2f, 0.3f, -0.2f, 0.1f};
        double root = Math.pow(D, -0.25);
        double total = 0;
        int draws = 200;
        int m = 256;
        for (int seed = 0; seed < draws; seed++) {
            HybridRecurrence.Features features = proposal.draw(m, seed);
            for (int f = 0; f < m; f++) {
                total += feature(features, f, query, root) * feature(features, f, key, root);
            }
        }
        // 51 200 features of a pair whose sum has norm < 1: the standard error is below 0.5%
        assertThat(total / draws).isCloseTo(Math.exp(dot(query, key) / Math.sqrt(D)), within(0.02));
    }

    /** Feature {@code f} of {@code x} times √m: {@code exp(ω_f·x̃ - |x̃|²/2 + b_f)}. */
    private static double feature(HybridRecurrence.Features features, int f, float[] x, double root) {
        double projection = 0;
        double squares = 0;
        for (int i = 0; i < D; i++) {
            projection += features.directions()[f * D + i] * x[i] * root;
            squares += x[i] * root * x[i] * root;
        }
        return Math.exp(projection - squares / 2 + features.biases()[f]) / Math.sqrt(features.count());
    }

    private static double dot(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < D; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }
}
