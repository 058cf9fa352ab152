package dev.spikeconv.converter.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CholeskyTest {
    /** Random well-conditioned systems of sizes around the panel and chunk edges: the blocked solve matches the plain loops. */
    @Test
    void theBlockedSolveAgreesWithThePlainLoops() {
        SplittableRandom random = new SplittableRandom(5);
        int[] sizes = {1, 2, 7, 63, 64, 65, 130, 200};
        int[] widths = {1, 3, 255, 256, 300};
        for (int n : sizes) {
            for (int m : widths) {
                double[] a = spd(n, random);
                double[] b = new double[n * m];
                for (int i = 0; i < b.length; i++) {
                    b[i] = random.nextDouble(-1, 1);
                }
                double[] expected = b.clone();
                Cholesky.solveScalar(a.clone(), n, expected, m);
                double[] actual = b.clone();
                Cholesky.solve(a.clone(), n, actual, m);
                for (int i = 0; i < b.length; i++) {
                    assertThat(actual[i]).as("n %d m %d entry %d", n, m, i).isCloseTo(expected[i], within(1e-9 * (1 + Math.abs(expected[i]))));
                }
                // and it solves the system
                double[] residual = multiply(a, n, actual, m);
                for (int i = 0; i < b.length; i++) {
                    assertThat(residual[i]).isCloseTo(b[i], within(1e-8));
                }
            }
        }
    }

    @Test
    void aSingularSystemGetsJitterAndStaysFinite() {
        int n = 70;
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                a[i * n + j] = 1; // rank one
            }
        }
        double[] b = new double[n];
        java.util.Arrays.fill(b, 1);
        double[] scalar = b.clone();
        Cholesky.solveScalar(a.clone(), n, scalar, 1);
        Cholesky.solve(a.clone(), n, b, 1);
        for (int i = 0; i < n; i++) {
            assertThat(Double.isFinite(b[i])).isTrue();
            assertThat(Double.isFinite(scalar[i])).isTrue();
        }
    }

    @Test
    void theResultDoesNotDependOnTheThreads() {
        SplittableRandom random = new SplittableRandom(9);
        int n = 300;
        int m = 700;
        double[] a = spd(n, random);
        double[] b = new double[n * m];
        for (int i = 0; i < b.length; i++) {
            b[i] = random.nextDouble(-1, 1);
        }
        double[] first = b.clone();
        Cholesky.solve(a.clone(), n, first, m);
        double[] second = b.clone();
        Cholesky.solve(a.clone(), n, second, m);
        assertThat(second).isEqualTo(first);
    }

    /** {@code M Mᵀ + n I} for a random M: symmetric, positive definite, condition number modest. */
    private static double[] spd(int n, SplittableRandom random) {
        double[] m = new double[n * n];
        for (int i = 0; i < m.length; i++) {
            m[i] = random.nextDouble(-1, 1);
        }
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double sum = i == j ? n : 0;
                for (int k = 0; k < n; k++) {
                    sum += m[i * n + k] * m[j * n + k];
                }
                a[i * n + j] = sum;
            }
        }
        return a;
    }

    private static double[] multiply(double[] a, int n, double[] x, int m) {
        double[] result = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < n; k++) {
                for (int c = 0; c < m; c++) {
                    result[i * m + c] += a[i * n + k] * x[k * m + c];
                }
            }
        }
        return result;
    }
}
