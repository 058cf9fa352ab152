package dev.spikeconv.converter.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.SplittableRandom;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class VectorExponentialTest {
    private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;

    /** Random arguments over the whole range against Math.exp: within 2 ulp, 0 below e^-708, ∞ where it overflows. */
    @Test
    void matchesMathExpWithinTwoUlp() {
        SplittableRandom random = new SplittableRandom(31);
        double[] arguments = new double[SPECIES.length()];
        double[] results = new double[SPECIES.length()];
        for (int test = 0; test < 200_000; test++) {
            for (int lane = 0; lane < arguments.length; lane++) {
                arguments[lane] = switch (random.nextInt(4)) {
                    case 0 -> random.nextDouble(-1, 1);
                    case 1 -> random.nextDouble(-60, 0);
                    case 2 -> random.nextDouble(-750, 0);
                    default -> random.nextDouble(-750, 750);
                };
            }
            VectorExponential.exp(DoubleVector.fromArray(SPECIES, arguments, 0)).intoArray(results, 0);
            for (int lane = 0; lane < arguments.length; lane++) {
                double x = arguments[lane];
                double expected = Math.exp(x);
                if (x < -708) {
                    assertThat(results[lane]).as("exp(%s)", x).isZero();
                }
                else if (Double.isInfinite(expected)) {
                    assertThat(results[lane]).as("exp(%s)", x).isEqualTo(Double.POSITIVE_INFINITY);
                }
                else {
                    assertThat(Math.abs(results[lane] - expected)).as("exp(%s) = %s, Math.exp %s", x, results[lane], expected).isLessThanOrEqualTo(2 * Math.ulp(expected));
                }
            }
        }
    }

    @Test
    void specialValues() {
        double[] arguments = new double[SPECIES.length()];
        double[][] cases = {{0, 1}, {Double.NEGATIVE_INFINITY, 0}, {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY}, {Double.NaN, Double.NaN},
                {-0.0, 1}, {1, Math.E}, {709.78, Math.exp(709.78)}, {-708, Math.exp(-708)}};
        for (double[] pair : cases) {
            Arrays.fill(arguments, pair[0]);
            double[] results = VectorExponential.exp(DoubleVector.fromArray(SPECIES, arguments, 0)).toArray();
            for (double result : results) {
                if (Double.isNaN(pair[1])) {
                    assertThat(result).as("exp(%s)", pair[0]).isNaN();
                }
                else if (Double.isInfinite(pair[1]) || pair[1] == 0) {
                    assertThat(result).as("exp(%s)", pair[0]).isEqualTo(pair[1]);
                }
                else {
                    assertThat(Math.abs(result - pair[1])).as("exp(%s) = %s", pair[0], result).isLessThanOrEqualTo(Math.ulp(pair[1]));
                }
            }
        }
    }
}
