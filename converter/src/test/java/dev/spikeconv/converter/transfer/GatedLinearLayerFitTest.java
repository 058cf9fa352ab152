package dev.spikeconv.converter.transfer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The hand-written gradient of a GLA layer against central finite differences, and Adam lowering the loss. */
class GatedLinearLayerFitTest {
    private static final int HIDDEN = 6;
    private static final int HEADS = 4;
    private static final int KV_HEADS = 2;
    private static final int D = 3;
    private static final int RANK = 2;

    private static float[] random(SplittableRandom random, int length, double scale) {
        float[] values = new float[length];
        for (int i = 0; i < length; i++) {
            values[i] = (float) (random.nextDouble(-1, 1) * scale);
        }
        return values;
    }

    private static GatedLinearLayerFit fit(SplittableRandom random) {
        return new GatedLinearLayerFit(HIDDEN, HEADS, KV_HEADS, D, RANK, 16, 1e-5, random(random, D, 1), random(random, HIDDEN * HEADS * D, 0.5),
                random(random, HIDDEN, 0.1));
    }

    private static GatedLinearLayerFit.Parameters parameters(SplittableRandom random) {
        return new GatedLinearLayerFit.Parameters(random(random, HEADS * D * HIDDEN, 0.6), random(random, HEADS * D, 0.3),
                random(random, KV_HEADS * D * HIDDEN, 0.6), random(random, KV_HEADS * D, 0.3), random(random, RANK * HIDDEN, 0.5),
                random(random, KV_HEADS * D * RANK, 0.5), random(random, KV_HEADS * D, 2));
    }

    private static List<GatedLinearLayerFit.Sequence> data(SplittableRandom random) {
        int count = 9;
        return List.of(
                new GatedLinearLayerFit.Sequence(random(random, count * HIDDEN, 1), random(random, count * HIDDEN, 1), random(random, count * KV_HEADS * D, 1),
                        random(random, count * HIDDEN, 1), count),
                new GatedLinearLayerFit.Sequence(random(random, 4 * HIDDEN, 1), random(random, 4 * HIDDEN, 1), random(random, 4 * KV_HEADS * D, 1),
                        random(random, 4 * HIDDEN, 1), 4));
    }

    @Test
    void gradientMatchesFiniteDifferences() {
        SplittableRandom random = new SplittableRandom(21);
        GatedLinearLayerFit fit = fit(random);
        GatedLinearLayerFit.Parameters parameters = parameters(random);
        List<GatedLinearLayerFit.Sequence> data = data(random);
        GatedLinearLayerFit.Parameters gradient = parameters.zerosLike();
        fit.loss(parameters, data, gradient);
        float[][] values = parameters.arrays();
        float[][] gradients = gradient.arrays();
        String[] names = {"query", "query bias", "key", "key bias", "gate down", "gate up", "gate bias"};
        int checked = 0;
        for (int array = 0; array < values.length; array++) {
            for (int i = 0; i < values[array].length; i += Math.max(1, values[array].length / 7)) {
                double analytic = gradients[array][i];
                double closest = Double.POSITIVE_INFINITY;
                // Two step sizes: a ReLU kink inside the larger one, or float noise in the smaller one, spoils at most one of them.
                for (float step : new float[] {1e-2f, 1e-3f}) {
                    closest = Math.min(closest, Math.abs(analytic - centralDifference(fit, parameters, data, values[array], i, step)));
                }
                assertThat(closest).as("%s[%d]: analytic %s", names[array], i, analytic).isLessThanOrEqualTo(0.05 * Math.max(Math.abs(analytic), 1e-3));
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(30);
    }

    private static double centralDifference(GatedLinearLayerFit fit, GatedLinearLayerFit.Parameters parameters, List<GatedLinearLayerFit.Sequence> data,
            float[] values, int index, float step) {
        float original = values[index];
        values[index] = original + step;
        double up = fit.loss(parameters, data, null);
        values[index] = original - step;
        double down = fit.loss(parameters, data, null);
        values[index] = original;
        return (up - down) / (2 * step);
    }

    @Test
    void adamLowersTheLoss() {
        SplittableRandom random = new SplittableRandom(22);
        GatedLinearLayerFit fit = fit(random);
        GatedLinearLayerFit.Parameters parameters = parameters(random);
        List<GatedLinearLayerFit.Sequence> data = data(random);
        double before = fit.loss(parameters, data, null);
        fit.adam(parameters, data, 100, 1e-2);
        assertThat(fit.loss(parameters, data, null)).isLessThan(before * 0.8);
    }

    @Test
    void decayBiasInvertsTheGate() {
        for (double decay : AttentionTransfer.DECAY_GRID) {
            float bias = AttentionTransfer.decayBias(decay, 16);
            assertThat(Math.exp(GatedLinearLayerFit.logSigmoid(bias) / 16)).isCloseTo(decay, org.assertj.core.data.Offset.offset(1e-6));
        }
    }
}
