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
        assertThat(equations.residualSumOfSquares(solution) / equations.centredTargetSumOfSquares()).isLessThan(1e-8);
        float[] predicted = solution.predict(x, 1);
        assertThat(predicted[0]).isCloseTo(y[0], within(1e-3f));
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
