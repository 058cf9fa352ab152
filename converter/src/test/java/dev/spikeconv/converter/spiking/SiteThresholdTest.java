package dev.spikeconv.converter.spiking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SiteThresholdTest {
    @Test
    void nearestUsesTheIntegerRangeAndRoundsWithinHalfAStep() {
        SplittableRandom random = new SplittableRandom(5);
        for (int bits : new int[] {4, 8, 16, 24}) {
            for (int trial = 0; trial < 1000; trial++) {
                double value = Math.exp(random.nextDouble(-20, 10));
                SiteThreshold.Static fixed = SiteThreshold.Static.nearest(value, bits);
                int integer = fixed.integers()[0];
                assertThat(integer).isBetween(1 << (bits - 1) - 1, (1 << bits) - 1);
                assertThat(Math.abs(fixed.thresholds()[0] - value) / value).isLessThanOrEqualTo(Math.scalb(1.0, 1 - bits) + 1e-7);
                assertThat(fixed.thresholds()[0]).isEqualTo(Math.scalb((float) integer, -fixed.exponent()));
            }
        }
    }

    @Test
    void channelsShareOneExponentAndNoneRoundsToZero() {
        SiteThreshold.Static fixed = SiteThreshold.Static.nearest(new double[] {1e-9, 0.5, 3.0}, 8);
        // 3.0 · 2^6 = 192 is the largest integer within 8 bits; 1e-9 would round to 0 and is raised to 1.
        assertThat(fixed.exponent()).isEqualTo(6);
        assertThat(fixed.integers()).containsExactly(1, 32, 192);
        assertThat(fixed.perChannel()).isTrue();
    }

    @Test
    void invalidThresholdsAreRefused() {
        assertThatThrownBy(() -> new SiteThreshold.Static(new int[] {0}, 3)).hasMessageContaining("[1, 16777215]");
        assertThatThrownBy(() -> new SiteThreshold.Static(new int[] {1}, 200)).hasMessageContaining("normal range");
        assertThatThrownBy(() -> new SiteThreshold.Dynamic(0)).hasMessageContaining("positive");
        assertThatThrownBy(() -> SiteThreshold.Static.nearest(-1, 8)).hasMessageContaining("positive");
    }
}
