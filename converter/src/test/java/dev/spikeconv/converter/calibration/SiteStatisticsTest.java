package dev.spikeconv.converter.calibration;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SiteStatisticsTest {
    /**
     * The definition, value by value: |a| into one histogram, and a / mean|a| of its token (0 for an all-zero token) into
     * the other, the mean summed in channel order. The vector path must give the same counts bit for bit.
     */
    @Test
    void addingTokensMatchesTheDefinition() {
        SplittableRandom random = new SplittableRandom(21);
        for (int test = 0; test < 200; test++) {
            int channels = random.nextInt(1, 200);
            float[][] tokens = new float[random.nextInt(1, 6)][channels];
            for (float[] token : tokens) {
                boolean silent = random.nextInt(8) == 0;
                for (int i = 0; i < channels; i++) {
                    token[i] = silent ? 0 : (float) (random.nextGaussian() * Math.pow(2, random.nextInt(-20, 20)));
                }
            }
            SiteStatistics statistics = new SiteStatistics("site");
            statistics.add(tokens);

            MagnitudeHistogram magnitudes = new MagnitudeHistogram();
            MagnitudeHistogram relative = new MagnitudeHistogram();
            for (float[] token : tokens) {
                float sum = 0;
                for (float value : token) {
                    sum += Math.abs(value);
                }
                float mean = sum / channels;
                for (float value : token) {
                    magnitudes.add(value);
                    relative.add(mean == 0 ? 0 : value / mean);
                }
            }
            assertThat(statistics.magnitudes().toLongs()).as("case %d", test).isEqualTo(magnitudes.toLongs());
            assertThat(statistics.relativeMagnitudes().toLongs()).as("case %d", test).isEqualTo(relative.toLongs());
        }
    }
}
