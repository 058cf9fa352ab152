package dev.spikeconv.converter.execution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] LOGITS = {0f, 3f, 1f, 2.9f, -4f};

    @Test
    void temperatureZeroIsArgmax() {
        assertThat(new Sampler(SamplingOptions.greedy()).next(LOGITS)).isEqualTo(1);
    }

    @Test
    void topPKeepsOnlyTheNucleus() {
        // softmax: 1 and 3 hold ~0.78 together; with top-p 0.5 only those two can be drawn.
        Sampler sampler = new Sampler(new SamplingOptions(1, 0.5f, 7));
        for (int i = 0; i < 500; i++) {
            assertThat(sampler.next(LOGITS)).isIn(1, 3);
        }
    }

    @Test
    void samplingFollowsTheDistributionAndTheSeed() {
        int[] counts = new int[LOGITS.length];
        Sampler sampler = new Sampler(new SamplingOptions(1, 1, 11));
        for (int i = 0; i < 20_000; i++) {
            counts[sampler.next(LOGITS)]++;
        }
        double sum = 0;
        for (float logit : LOGITS) {
            sum += Math.exp(logit);
        }
        for (int token = 0; token < LOGITS.length; token++) {
            double expected = Math.exp(LOGITS[token]) / sum * 20_000;
            assertThat((double) counts[token]).isCloseTo(expected, org.assertj.core.data.Offset.offset(5 * Math.sqrt(expected) + 5));
        }
        Sampler first = new Sampler(new SamplingOptions(0.8f, 0.9f, 3));
        Sampler second = new Sampler(new SamplingOptions(0.8f, 0.9f, 3));
        for (int i = 0; i < 100; i++) {
            assertThat(first.next(LOGITS)).isEqualTo(second.next(LOGITS));
        }
    }

    @Test
    void refusesImpossibleOptions() {
        assertThatThrownBy(() -> new SamplingOptions(-1, 1, 0)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new SamplingOptions(1, 0, 0)).hasMessageContaining("top-p");
    }
}
