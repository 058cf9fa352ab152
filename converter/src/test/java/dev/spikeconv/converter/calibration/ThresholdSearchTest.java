package dev.spikeconv.converter.calibration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.model.SpikeSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every static method and constraint search on the histogram against brute force on the raw samples,
 * for Gaussian, heavy-tailed and outlier-channel distributions.
 */
class ThresholdSearchTest {
    private static final int T = 127;
    private static final SpikeSettings.Coding CODING = SpikeSettings.Coding.TERNARY;

    static Stream<Arguments> distributions() {
        return Stream.of(Arguments.of("gaussian", samples("gaussian", 1)), Arguments.of("heavy-tailed", samples("heavy-tailed", 2)),
                Arguments.of("outlier channels", samples("outlier channels", 3)));
    }

    /** 200k activations: N(0, 1); Student-t with 2 degrees of freedom; or N(0, 1) where 1 channel in 64 is 30 times larger. */
    static float[] samples(String kind, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[200_000];
        for (int i = 0; i < values.length; i++) {
            double gaussian = gaussian(random);
            values[i] = (float) switch (kind) {
                case "gaussian" -> gaussian;
                case "heavy-tailed" -> gaussian / Math.sqrt((square(gaussian(random)) + square(gaussian(random))) / 2);
                case "outlier channels" -> i % 64 == 0 ? 30 * gaussian : gaussian;
                default -> throw new IllegalArgumentException(kind);
            };
        }
        return values;
    }

    private static double gaussian(SplittableRandom random) {
        return Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    private static double square(double value) {
        return value * value;
    }

    private static MagnitudeHistogram histogram(float[] values) {
        MagnitudeHistogram histogram = new MagnitudeHistogram();
        histogram.add(values, 0, values.length);
        return histogram;
    }

    /** Exact mean squared error of {@code clamp(round(a/θ), ±T)} on the samples. */
    private static double exactError(float[] values, double threshold) {
        double sum = 0;
        for (float value : values) {
            double count = Math.max(-T, Math.min(T, Math.rint(value / threshold)));
            double error = value - threshold * count;
            sum += error * error;
        }
        return sum / values.length;
    }

    private static double exactSparsity(float[] values, double threshold) {
        double events = 0;
        for (float value : values) {
            events += Math.min(T, Math.abs(Math.rint(value / threshold)));
        }
        return 1 - events / values.length / T;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("distributions")
    void maxAndPercentileMatchTheSortedSamples(String name, float[] values) {
        ThresholdSearch search = new ThresholdSearch(T, CODING, T);
        MagnitudeHistogram histogram = histogram(values);
        double[] magnitudes = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            magnitudes[i] = Math.abs(values[i]);
        }
        Arrays.sort(magnitudes);
        assertThat(search.staticThreshold(histogram, ThresholdMethod.parse("max"))).isEqualTo(magnitudes[magnitudes.length - 1] / T);
        for (double percentile : new double[] {50, 99, 99.9, 99.99}) {
            double exact = magnitudes[(int) Math.ceil(percentile / 100 * magnitudes.length) - 1];
            double found = search.staticThreshold(histogram, ThresholdMethod.parse("percentile:" + percentile)) * T;
            // One bucket is at most 1/64 of its value wide.
            assertThat(found).as("percentile %s", percentile).isCloseTo(exact, org.assertj.core.data.Percentage.withPercentage(1.6));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("distributions")
    void mseIsAsGoodAsABruteForceSearchOnTheSamples(String name, float[] values) {
        ThresholdSearch search = new ThresholdSearch(T, CODING, T);
        double found = search.staticThreshold(histogram(values), ThresholdMethod.parse("mse"));
        double maximum = 0;
        for (float value : values) {
            maximum = Math.max(maximum, Math.abs(value));
        }
        double bestError = Double.POSITIVE_INFINITY;
        for (int i = 0; i <= 2000; i++) {
            double threshold = maximum / T * 2 * Math.pow(2, -i / 200.0);
            bestError = Math.min(bestError, exactError(values, threshold));
        }
        assertThat(exactError(values, found)).isLessThanOrEqualTo(bestError * 1.01);
        // and clearly better than not clipping at all
        assertThat(exactError(values, found)).isLessThanOrEqualTo(exactError(values, maximum / T));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("distributions")
    void histogramStatisticsMatchTheSamples(String name, float[] values) {
        MagnitudeHistogram histogram = histogram(values);
        for (double threshold : new double[] {0.01, 0.1, 0.5, 2}) {
            MagnitudeHistogram.CodeStatistics statistics = histogram.codeStatistics(threshold, T, CODING);
            assertThat(statistics.sparsity(T)).as("sparsity at %s", threshold).isCloseTo(exactSparsity(values, threshold),
                    org.assertj.core.data.Offset.offset(2e-3));
            assertThat(statistics.meanSquaredError()).as("error at %s", threshold).isCloseTo(exactError(values, threshold),
                    org.assertj.core.data.Percentage.withPercentage(5));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("distributions")
    void constraintSearchesMeetTheirTargets(String name, float[] values) {
        ThresholdSearch search = new ThresholdSearch(T, CODING, T);
        MagnitudeHistogram histogram = histogram(values);
        double sparse = search.thresholdForSparsity(histogram, 0.98);
        assertThat(exactSparsity(values, sparse)).isCloseTo(0.98, org.assertj.core.data.Offset.offset(1e-3));
        assertThat(exactSparsity(values, sparse * 0.9)).isLessThan(0.98);
        double accurate = search.thresholdForError(histogram, 0.01);
        double meanSquare = 0;
        for (float value : values) {
            meanSquare += (double) value * value / values.length;
        }
        double best = search.minimumError(histogram);
        if (exactError(values, best) / meanSquare > 0.01) {
            // Student-t with 2 degrees of freedom: even the best threshold misses 1%; the search returns it.
            assertThat(accurate).isEqualTo(best);
        }
        else {
            assertThat(exactError(values, accurate) / meanSquare).isCloseTo(0.01, org.assertj.core.data.Percentage.withPercentage(5));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("distributions")
    void allocationMeetsTheOverallTargetWithLessErrorThanAUniformTarget(String name, float[] values) {
        ThresholdSearch search = new ThresholdSearch(T, CODING, T);
        // three sites of different scale and shape: the distribution, its tenth, and its square
        List<float[]> sites = new ArrayList<>();
        sites.add(values);
        float[] small = values.clone();
        float[] squared = values.clone();
        for (int i = 0; i < values.length; i++) {
            small[i] *= 0.1f;
            squared[i] = values[i] * Math.abs(values[i]);
        }
        sites.add(small);
        sites.add(squared);
        List<MagnitudeHistogram> histograms = sites.stream().map(ThresholdSearchTest::histogram).toList();
        double[] allocated = SparsityAllocation.thresholds(histograms, search, T, 0.98);
        double events = 0;
        double allocatedError = 0;
        double uniformError = 0;
        for (int site = 0; site < sites.size(); site++) {
            float[] siteValues = sites.get(site);
            events += (1 - exactSparsity(siteValues, allocated[site])) * T * siteValues.length;
            double meanSquare = 0;
            for (float value : siteValues) {
                meanSquare += (double) value * value / siteValues.length;
            }
            allocatedError += exactError(siteValues, allocated[site]) / meanSquare;
            uniformError += exactError(siteValues, search.thresholdForSparsity(histograms.get(site), 0.98)) / meanSquare;
        }
        double sparsity = 1 - events / (3.0 * values.length * T);
        assertThat(sparsity).isGreaterThanOrEqualTo(0.98 - 1e-3);
        assertThat(allocatedError).isLessThanOrEqualTo(uniformError * 1.001);
    }
}
