package dev.spikeconv.converter.spiking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.spikeconv.formats.model.SpikeSettings;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The statistics against a plain recount of every value from docs/design.md §4's spike counts, for each threshold kind and coding. */
class SpikeStatisticsTest {
    /** Channel counts below one vector, with a tail, and long. */
    @ParameterizedTest
    @ValueSource(ints = {5, 37, 301})
    void statisticsAreTheRecountOfEveryValue(int channels) {
        SplittableRandom random = new SplittableRandom(9);
        List<SiteThreshold> thresholds = List.of(new SiteThreshold.Dynamic(3), new SiteThreshold.Static(new int[] {5}, 4),
                new SiteThreshold.Static(random.ints(channels, 1, 200).toArray(), 6));
        for (SiteThreshold threshold : thresholds) {
            for (SpikeSettings.Coding coding : SpikeSettings.Coding.values()) {
                SpikeSettings settings = new SpikeSettings(SpikeSettings.Mode.DYNAMIC, 3, 15, coding, List.of());
                SpikeStatistics statistics = new SpikeStatistics("site", threshold, settings, 4);
                long values = 0;
                long events = 0;
                long zeros = 0;
                long saturated = 0;
                double squaredError = 0;
                double squaredSignal = 0;
                boolean[] active = new boolean[channels];
                for (int batch = 0; batch < 5; batch++) {
                    float[][] activations = new float[random.nextInt(1, 9)][channels];
                    for (float[] token : activations) {
                        for (int channel = 0; channel < channels; channel++) {
                            token[channel] = random.nextInt(6) == 0 ? 0 : (float) (random.nextGaussian() * Math.exp(random.nextGaussian()));
                        }
                    }
                    statistics.add(activations);
                    for (float[] token : activations) {
                        for (int channel = 0; channel < channels; channel++) {
                            float theta = switch (threshold) {
                                case SiteThreshold.Dynamic dynamic -> SpikeArithmetic.dynamicThreshold(token, 0, channels, dynamic.k());
                                case SiteThreshold.Static fixed -> fixed.thresholds()[fixed.perChannel() ? channel : 0];
                            };
                            int count = SpikeArithmetic.count(token[channel], theta, 15);
                            values++;
                            events += coding == SpikeSettings.Coding.BITWISE ? Integer.bitCount(Math.abs(count)) : Math.abs(count);
                            zeros += count == 0 ? 1 : 0;
                            saturated += Math.abs(count) == 15 ? 1 : 0;
                            active[channel] |= count != 0;
                            double error = token[channel] - (double) theta * count;
                            squaredError += error * error;
                            squaredSignal += (double) token[channel] * token[channel];
                        }
                    }
                }
                int silent = 0;
                for (boolean channel : active) {
                    silent += channel ? 0 : 1;
                }
                String what = threshold + " " + coding;
                assertThat(statistics.values()).as(what).isEqualTo(values);
                assertThat(statistics.events()).as(what).isEqualTo(events);
                assertThat(statistics.zeroCountShare()).as(what).isEqualTo((double) zeros / values);
                assertThat(statistics.saturation()).as(what).isEqualTo((double) saturated / values);
                // Summed per vector lane, then the lanes: the same sum in another order.
                assertThat(statistics.reconstructionError()).as(what).isCloseTo(squaredError / squaredSignal, within(1e-12 * squaredError / squaredSignal));
                assertThat(statistics.sparsity()).as(what).isEqualTo(1 - (double) events / (values * 4.0));
                assertThat(statistics.silentChannels()).as(what).isEqualTo(silent);
                SpikeStatistics copy = statistics.copyFor("other");
                assertThat(copy.site()).isEqualTo("other");
                assertThat(copy.reconstructionError()).isEqualTo(statistics.reconstructionError());
                assertThat(copy.events()).isEqualTo(statistics.events());
                assertThat(copy.silentChannels()).isEqualTo(statistics.silentChannels());
            }
        }
    }
}
