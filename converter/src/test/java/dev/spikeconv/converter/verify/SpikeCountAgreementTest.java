package dev.spikeconv.converter.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.spikeconv.converter.spiking.SiteThreshold;
import org.junit.jupiter.api.Test;

/** Counts compared value by value: a flip at a rounding edge is near 0 counts away, a different rule far from it. */
class SpikeCountAgreementTest {
    private static final SiteThreshold QUARTER = SiteThreshold.Static.nearest(0.25, 16);

    @Test
    void identicalCountsAgreeFully() {
        float[][] inputs = {{0.1f, 0.3f, -0.6f, 40f}};
        SpikeCountAgreement agreement = SpikeCountAgreement.of("site", QUARTER, 127, inputs, new float[][] {{0, 1, -2, 127}});
        assertThat(agreement.identicalShare()).isEqualTo(1);
        assertThat(agreement.largestEdgeDistance()).isZero();
    }

    @Test
    void aFlipAtTheEdgeIsCloseAndOneFarFromItIsFar() {
        // 0.625 / 0.25 = 2.5: the Java rule gives 2 (half to even); 3 is the other side of the same edge.
        SpikeCountAgreement edge = SpikeCountAgreement.of("site", QUARTER, 127, new float[][] {{0.625f, 0.1f}}, new float[][] {{3, 0}});
        assertThat(edge.identical()).isEqualTo(1);
        assertThat(edge.largestEdgeDistance()).isZero();
        // 0.5 / 0.25 = 2.0, counted 1 (a floor of 1.9 would do that): half a count from any edge between them.
        SpikeCountAgreement far = SpikeCountAgreement.of("site", QUARTER, 127, new float[][] {{0.5f}}, new float[][] {{1}});
        assertThat(far.largestEdgeDistance()).isCloseTo(0.5, within(1e-9));
        SpikeCountAgreement notANumber = SpikeCountAgreement.of("site", QUARTER, 127, new float[][] {{0.5f}}, new float[][] {{Float.NaN}});
        assertThat(notANumber.largestEdgeDistance()).isInfinite();
    }

    @Test
    void dynamicThresholdsAreRecomputedPerToken() {
        // Σ|a| = 16 over 8 values with k = 2: θ = 1, so every count is the rounded value itself.
        float[][] inputs = {{0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, -3.5f}};
        SpikeCountAgreement agreement = SpikeCountAgreement.of("site", new SiteThreshold.Dynamic(2), 127, inputs,
                new float[][] {{0, 2, 2, 4, 0, -2, -2, -4}});
        assertThat(agreement.identicalShare()).isEqualTo(1);
    }
}
