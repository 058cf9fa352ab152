package dev.spikeconv.converter.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DivergenceTest {
    /** KL against the textbook formula over explicit probabilities, logits far from zero included (the shift matters). */
    @Test
    void kullbackLeiblerIsTheDefinition() {
        SplittableRandom random = new SplittableRandom(3);
        for (int test = 0; test < 200; test++) {
            int vocabulary = random.nextInt(1, 300);
            float offset = (float) random.nextDouble(-500, 500);
            float[] reference = new float[vocabulary];
            float[] candidate = new float[vocabulary];
            for (int i = 0; i < vocabulary; i++) {
                reference[i] = offset + (float) (random.nextGaussian() * 4);
                candidate[i] = reference[i] + (float) (random.nextGaussian() * 0.5);
            }
            double[] p = probabilities(reference);
            double[] q = probabilities(candidate);
            double expected = 0;
            for (int i = 0; i < vocabulary; i++) {
                expected += p[i] * Math.log(p[i] / q[i]);
            }
            assertThat(Divergence.kullbackLeibler(reference, candidate)).isCloseTo(Math.max(0, expected), within(1e-9 + 1e-9 * expected));
        }
    }

    /** The many-position form (sums taken once, positions in parallel) gives the same bits as one position at a time. */
    @Test
    void manyPositionsGiveTheSameValuesAsOneAtATime() {
        SplittableRandom random = new SplittableRandom(4);
        float[][] reference = new float[64][];
        float[][] candidate = new float[64][];
        for (int t = 0; t < reference.length; t++) {
            reference[t] = new float[500];
            candidate[t] = new float[500];
            for (int i = 0; i < 500; i++) {
                reference[t][i] = (float) (random.nextGaussian() * 3);
                candidate[t][i] = (float) (random.nextGaussian() * 3);
            }
        }
        double[] kl = Divergence.kullbackLeiblers(reference, Divergence.logSumExps(reference), candidate, Divergence.logSumExps(candidate));
        double sum = 0;
        for (int t = 0; t < reference.length; t++) {
            double single = Divergence.kullbackLeibler(reference[t], candidate[t]);
            assertThat(kl[t]).isEqualTo(single);
            sum += single;
            double[] logSoftmax = Divergence.logSoftmax(reference[t]);
            assertThat(logSoftmax[7]).isEqualTo(reference[t][7] - Divergence.logSumExp(reference[t]));
        }
        assertThat(Divergence.meanKullbackLeibler(reference, candidate)).isEqualTo(sum / reference.length);
    }

    /**
     * The vector forms against their scalar definitions: vocabularies that leave loop tails, logits far from zero, tokens
     * one or both models rule out (-∞: p = 0 adds nothing, even where q = 0; q = 0 where p > 0 makes KL infinite in both).
     */
    @Test
    void vectorFormsMatchTheirDefinitions() {
        SplittableRandom random = new SplittableRandom(5);
        for (int test = 0; test < 500; test++) {
            int vocabulary = random.nextInt(1, 5000);
            float offset = (float) random.nextDouble(-500, 500);
            float[] reference = new float[vocabulary];
            float[] candidate = new float[vocabulary];
            for (int i = 0; i < vocabulary; i++) {
                reference[i] = offset + (float) (random.nextGaussian() * 6);
                candidate[i] = reference[i] + (float) (random.nextGaussian() * (test % 2 == 0 ? 1e-3 : 1));
            }
            if (test % 5 == 0 && vocabulary > 1) {
                reference[random.nextInt(vocabulary)] = Float.NEGATIVE_INFINITY;
            }
            if (test % 7 == 0) {
                candidate[random.nextInt(vocabulary)] = Float.NEGATIVE_INFINITY;
            }
            if (test % 11 == 0 && vocabulary > 1) {
                int ruledOut = random.nextInt(vocabulary);
                reference[ruledOut] = Float.NEGATIVE_INFINITY;
                candidate[ruledOut] = Float.NEGATIVE_INFINITY;
            }
            double referenceLogSum = Divergence.logSumExp(reference);
            double candidateLogSum = Divergence.logSumExp(candidate);
            assertThat(referenceLogSum).as("case %d", test).isCloseTo(Divergence.logSumExpScalar(reference), within(1e-12 * (1 + Math.abs(referenceLogSum))));
            assertThat(candidateLogSum).as("case %d", test).isCloseTo(Divergence.logSumExpScalar(candidate), within(1e-12 * (1 + Math.abs(candidateLogSum))));
            double expected = Divergence.kullbackLeiblerScalar(reference, referenceLogSum, candidate, candidateLogSum);
            double actual = Divergence.kullbackLeibler(reference, referenceLogSum, candidate, candidateLogSum);
            if (Double.isInfinite(expected)) {
                assertThat(actual).as("case %d", test).isEqualTo(expected);
            }
            else {
                assertThat(actual).as("case %d", test).isCloseTo(expected, within(1e-12 + 1e-10 * expected));
            }
        }
    }

    private static double[] probabilities(float[] logits) {
        double maximum = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            maximum = Math.max(maximum, logit);
        }
        double[] p = new double[logits.length];
        double total = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp(logits[i] - maximum);
            total += p[i];
        }
        for (int i = 0; i < logits.length; i++) {
            p[i] /= total;
        }
        return p;
    }
}
