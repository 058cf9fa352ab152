package dev.spikeconv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SamplesTest {
    @Test
    void medianOfOddAndEvenCounts() {
        assertThat(new Samples(new double[] {5, 1, 3}).median()).isEqualTo(3);
        assertThat(new Samples(new double[] {4, 1, 3, 100}).median()).isEqualTo(3.5);
        assertThat(new Samples(new double[] {2}).median()).isEqualTo(2);
        assertThat(new Samples(new double[] {4, 1, 3, 100}).minimum()).isEqualTo(1);
        assertThat(new Samples(new double[] {4, 1, 3, 100}).maximum()).isEqualTo(100);
    }

    @Test
    void keepsItsOwnCopy() {
        double[] values = {1, 2, 3};
        Samples samples = new Samples(values);
        values[0] = 50;
        samples.values()[1] = 60;
        assertThat(samples.values()).containsExactly(1, 2, 3);
    }

    @Test
    void needsAtLeastOneSample() {
        assertThatThrownBy(() -> new Samples(new double[0])).isInstanceOf(IllegalArgumentException.class);
    }
}
