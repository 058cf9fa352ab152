package dev.spikeconv.converter.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class RecurrenceMeasureTest {
    /** Every target is placed by the distance to its latest earlier occurrence in the same sequence, or counted as new. */
    @Test
    void targetsAreSplitByHowFarBackTheyLastOccurred() {
        int[] sequence = new int[400];
        for (int i = 0; i < sequence.length; i++) {
            sequence[i] = 10 + i; // all distinct
        }
        sequence[5] = 7;
        sequence[20] = 7; // 15 back: within a horizon of 64
        sequence[300] = 7; // 280 back: only beyond 64, bucket 256-1k
        sequence[100] = 8;
        sequence[1] = 8; // position 1 is the first 8; 100 is 99 back: 64-256
        double[] reference = new double[sequence.length];
        double[] bundle = new double[sequence.length];
        double[] kl = new double[sequence.length];
        for (int t = 0; t < sequence.length; t++) {
            reference[t] = -1;
            bundle[t] = sequence[t + 1 < sequence.length ? t + 1 : t] < 10 ? -3 : -1.5;
            kl[t] = 0.25;
        }
        RecurrenceMeasure measure = new RecurrenceMeasure(64, 500);
        measure.add(sequence, reference, bundle, kl);
        VerifyReport.LongRange result = measure.result();
        assertThat(result.horizon()).isEqualTo(64);
        assertThat(result.withinHorizon().positions()).isEqualTo(1);
        assertThat(result.onlyBeyondHorizon().positions()).isEqualTo(2);
        assertThat(result.onlyBeyondHorizon().bundleNll()).isCloseTo(3, within(1e-12));
        assertThat(result.onlyBeyondHorizon().nllRatio()).isCloseTo(3, within(1e-12));
        assertThat(result.buckets()).extracting(VerifyReport.Bucket::positions).containsExactly(1, 1, 1, 0, 0);
        assertThat(result.firstOccurrences().positions()).isEqualTo(sequence.length - 1 - 3);
        assertThat(result.firstOccurrences().meanKl()).isCloseTo(0.25, within(1e-12));
        assertThat(result.sequencesExceedHorizon()).isTrue();
    }
}
