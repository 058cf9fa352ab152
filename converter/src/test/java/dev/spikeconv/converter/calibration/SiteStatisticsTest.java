package dev.spikeconv.converter.calibration;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SiteStatisticsTest {
    /**
     * The definition, value by value: |a| into one histogram, and a / mean|a| of its token (0 for an all-zero token) into
     * the other, the mean as the spike-count rule takes it (summed in float64 in channel order, divided in float64, rounded
     * once to float32). The vector path, fed the tokens as rows or as one flat array, must give the same counts bit for bit.
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
            SiteStatistics flat = new SiteStatistics("site");
            float[] rows = new float[tokens.length * channels];
            for (int t = 0; t < tokens.length; t++) {
                System.arraycopy(tokens[t], 0, rows, t * channels, channels);
            }
            flat.add(rows, tokens.length, channels);

            MagnitudeHistogram magnitudes = new MagnitudeHistogram();
            MagnitudeHistogram relative = new MagnitudeHistogram();
            for (float[] token : tokens) {
                double sum = 0;
                for (float value : token) {
                    sum += Math.abs(value);
                }
                float mean = (float) (sum / channels);
                for (float value : token) {
                    magnitudes.add(value);
                    relative.add(mean == 0 ? 0 : value / mean);
                }
            }
            assertThat(statistics.magnitudes().toLongs()).as("case %d", test).isEqualTo(magnitudes.toLongs());
            assertThat(statistics.relativeMagnitudes().toLongs()).as("case %d", test).isEqualTo(relative.toLongs());
            assertThat(flat.magnitudes().toLongs()).as("case %d", test).isEqualTo(magnitudes.toLongs());
            assertThat(flat.relativeMagnitudes().toLongs()).as("case %d", test).isEqualTo(relative.toLongs());
        }
    }
}
