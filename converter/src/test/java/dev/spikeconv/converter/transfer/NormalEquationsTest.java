package dev.spikeconv.converter.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NormalEquationsTest {
    @Test
    void recoversAKnownLinearMapWithIntercept() {
        SplittableRandom random = new SplittableRandom(11);
        int features = 6;
        int targets = 3;
        int rows = 500;
        double[] weights = new double[features * targets];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = random.nextDouble(-1, 1);
        }
        double[] intercept = {0.5, -2, 3};
        float[] x = new float[rows * features];
        float[] y = new float[rows * targets];
        for (int row = 0; row < rows; row++) {
            for (int i = 0; i < features; i++) {
                x[row * features + i] = (float) random.nextDouble(-3, 3);
            }
            for (int k = 0; k < targets; k++) {
                double sum = intercept[k];
                for (int i = 0; i < features; i++) {
                    sum += x[row * features + i] * weights[i * targets + k];
                }
                y[row * targets + k] = (float) sum;
            }
        }
        NormalEquations equations = new NormalEquations(features, targets);
        equations.add(x, y, rows);
        NormalEquations.Solution solution = equations.solve(1e-9);
        for (int i = 0; i < weights.length; i++) {
            assertThat(solution.weights()[i]).isCloseTo(weights[i], within(1e-4));
        }
        for (int k = 0; k < targets; k++) {
            assertThat(solution.intercept()[k]).isCloseTo(intercept[k], within(1e-4));
        }
        // An exact fit leaves a residual share at the float32 rounding of the block products (about 1e-7), not zero.
        assertThat(equations.residualSumOfSquares(1e-9) / equations.centredTargetSumOfSquares()).isLessThan(1e-6);
        float[] predicted = solution.predict(x, 1);
        assertThat(predicted[0]).isCloseTo(y[0], within(1e-3f));
    }

    /**
     * Blocks of float products added up in double match the definition (every row's products in double) to float
     * rounding, even when the data sit far from zero: the shift keeps the mean out of the products.
     */
    @Test
    void blockedAccumulationMatchesTheDefinition() {
        SplittableRandom random = new SplittableRandom(3);
        int features = 37;
        int targets = 5;
        int rows = 3 * NormalEquations.BLOCK_ROWS + 17;
        float[] x = new float[rows * features];
        float[] y = new float[rows * targets];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (100 + random.nextGaussian());
        }
        for (int i = 0; i < y.length; i++) {
            y[i] = (float) (-50 + random.nextGaussian());
        }
        NormalEquations equations = new NormalEquations(features, targets);
        for (int first = 0; first < rows; first += 100) {
            int count = Math.min(100, rows - first);
            equations.add(java.util.Arrays.copyOfRange(x, first * features, (first + count) * features),
                    java.util.Arrays.copyOfRange(y, first * targets, (first + count) * targets), count);
        }
        // the definition: centred Gram diagonal and target spread in double
        double varianceSum = 0;
        for (int i = 0; i < features; i++) {
            double mean = 0;
            for (int row = 0; row < rows; row++) {
                mean += x[row * features + i];
            }
            mean /= rows;
            for (int row = 0; row < rows; row++) {
                double centred = x[row * features + i] - mean;
                varianceSum += centred * centred;
            }
        }
        double spread = 0;
        for (int k = 0; k < targets; k++) {
            double mean = 0;
            for (int row = 0; row < rows; row++) {
                mean += y[row * targets + k];
            }
            mean /= rows;
            for (int row = 0; row < rows; row++) {
                double centred = y[row * targets + k] - mean;
                spread += centred * centred;
            }
        }
        assertThat(equations.rows()).isEqualTo(rows);
        assertThat(equations.meanVariance()).isCloseTo(varianceSum / features, within(1e-4 * varianceSum / features));
        assertThat(equations.centredTargetSumOfSquares()).isCloseTo(spread, within(1e-4 * spread));
        // a subset of target columns solves to the same weights as the whole
        NormalEquations.Solution all = equations.solve(1e-3);
        NormalEquations.Solution some = equations.solve(1e-3, new int[] {4, 1});
        for (int i = 0; i < features; i++) {
            assertThat(some.weights()[i * 2]).isEqualTo(all.weights()[i * targets + 4]);
            assertThat(some.weights()[i * 2 + 1]).isEqualTo(all.weights()[i * targets + 1]);
        }
        assertThat(some.intercept()[0]).isEqualTo(all.intercept()[4]);
    }

    @Test
    void aLargePenaltyShrinksTheWeightsAndASingularSystemStaysFinite() {
        int rows = 50;
        float[] x = new float[rows * 2];
        float[] y = new float[rows];
        for (int row = 0; row < rows; row++) {
            x[row * 2] = row;
            x[row * 2 + 1] = row; // a copy of the first feature: the Gram matrix is singular
            y[row] = 2 * row + 1;
        }
        NormalEquations equations = new NormalEquations(2, 1);
        equations.add(x, y, rows);
        NormalEquations.Solution exact = equations.solve(0);
        assertThat(exact.weights()[0] + exact.weights()[1]).isCloseTo(2, within(1e-3));
        assertThat(exact.intercept()[0]).isCloseTo(1, within(1e-2));
        NormalEquations.Solution shrunk = equations.solve(1e9);
        assertThat(Math.abs(shrunk.weights()[0])).isLessThan(0.1);
    }
}
