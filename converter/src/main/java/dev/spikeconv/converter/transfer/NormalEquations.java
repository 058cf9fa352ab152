package dev.spikeconv.converter.transfer;

/**
 * Accumulates the centred normal equations of a linear least-squares fit {@code Y ≈ X B + c} row by
 * row, in double precision, and solves them with a ridge penalty by Cholesky factorisation.
 */
final class NormalEquations {
    private final int features;
    private final int targets;
    private final double[] featureSums;
    private final double[] targetSums;
    private final double[] gram;
    private final double[] cross;
    private final double[] targetSquares;
    private long rows;

    NormalEquations(int features, int targets) {
        this.features = features;
        this.targets = targets;
        this.featureSums = new double[features];
        this.targetSums = new double[targets];
        this.gram = new double[features * features];
        this.cross = new double[features * targets];
        this.targetSquares = new double[targets];
    }

    /** Adds {@code count} rows: {@code x [count, features]}, {@code y [count, targets]}. */
    void add(float[] x, float[] y, int count) {
        for (int row = 0; row < count; row++) {
            int xOffset = row * features;
            int yOffset = row * targets;
            for (int i = 0; i < features; i++) {
                double xi = x[xOffset + i];
                if (xi == 0) {
                    continue;
                }
                featureSums[i] += xi;
                int gramRow = i * features;
                for (int j = 0; j <= i; j++) {
                    gram[gramRow + j] += xi * x[xOffset + j];
                }
                int crossRow = i * targets;
                for (int k = 0; k < targets; k++) {
                    cross[crossRow + k] += xi * y[yOffset + k];
                }
            }
            for (int k = 0; k < targets; k++) {
                double yk = y[yOffset + k];
                targetSums[k] += yk;
                targetSquares[k] += yk * yk;
            }
            rows++;
        }
    }

    long rows() {
        return rows;
    }

    /** Mean diagonal of the centred Gram matrix: the scale ridge penalties are relative to. */
    double meanVariance() {
        double sum = 0;
        for (int i = 0; i < features; i++) {
            sum += gram[i * features + i] - featureSums[i] * featureSums[i] / rows;
        }
        return Math.max(sum / features, 1e-30);
    }

    /** {@code Σ||y - ȳ||²}: the residual of the intercept-only fit. */
    double centredTargetSumOfSquares() {
        double sum = 0;
        for (int k = 0; k < targets; k++) {
            sum += targetSquares[k] - targetSums[k] * targetSums[k] / rows;
        }
        return sum;
    }

    /** Residual sum of squares of {@code solution} over the rows added: {@code Σ||y - ȳ||² - tr(Bᵀ Xᵀ_c y_c)} for the least-squares fit. */
    double residualSumOfSquares(Solution solution) {
        double explained = 0;
        for (int i = 0; i < features; i++) {
            for (int k = 0; k < targets; k++) {
                double centredCross = cross[i * targets + k] - featureSums[i] * targetSums[k] / rows;
                explained += solution.weights()[i * targets + k] * centredCross;
            }
        }
        return Math.max(0, centredTargetSumOfSquares() - explained);
    }

    /** The fit: weights {@code [features, targets]} and intercept {@code [targets]}. */
    record Solution(double[] weights, double[] intercept, int features, int targets) {
        /** {@code y = x B + c} for rows of {@code x}. */
        float[] predict(float[] x, int count) {
            float[] y = new float[count * targets];
            for (int row = 0; row < count; row++) {
                for (int k = 0; k < targets; k++) {
                    double sum = intercept[k];
                    for (int i = 0; i < features; i++) {
                        sum += x[row * features + i] * weights[i * targets + k];
                    }
                    y[row * targets + k] = (float) sum;
                }
            }
            return y;
        }
    }

    /** Minimises {@code ||Y - X B - c||² + λ ||B||²} over the rows added so far. */
    Solution solve(double lambda) {
        if (rows == 0) {
            throw new IllegalStateException("no rows to fit");
        }
        double[] matrix = new double[features * features];
        for (int i = 0; i < features; i++) {
            for (int j = 0; j <= i; j++) {
                double centred = gram[i * features + j] - featureSums[i] * featureSums[j] / rows;
                matrix[i * features + j] = centred;
                matrix[j * features + i] = centred;
            }
            matrix[i * features + i] += lambda;
        }
        double[] rightHandSides = new double[features * targets];
        for (int i = 0; i < features; i++) {
            for (int k = 0; k < targets; k++) {
                rightHandSides[i * targets + k] = cross[i * targets + k] - featureSums[i] * targetSums[k] / rows;
            }
        }
        choleskySolve(matrix, features, rightHandSides, targets);
        double[] intercept = new double[targets];
        for (int k = 0; k < targets; k++) {
            double sum = targetSums[k] / rows;
            for (int i = 0; i < features; i++) {
                sum -= featureSums[i] / rows * rightHandSides[i * targets + k];
            }
            intercept[k] = sum;
        }
        return new Solution(rightHandSides, intercept, features, targets);
    }

    /**
     * Solves {@code A X = B} in place for a symmetric positive definite {@code A [n, n]} and
     * {@code B [n, m]}; a pivot that is not positive (a singular A) gets a tiny jitter, so the
     * solution stays finite.
     */
    static void choleskySolve(double[] a, int n, double[] b, int m) {
        double[] lower = new double[n * n];
        double largestDiagonal = 0;
        for (int i = 0; i < n; i++) {
            largestDiagonal = Math.max(largestDiagonal, Math.abs(a[i * n + i]));
        }
        double jitter = Math.max(largestDiagonal, 1e-300) * 1e-12;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double sum = a[i * n + j];
                for (int k = 0; k < j; k++) {
                    sum -= lower[i * n + k] * lower[j * n + k];
                }
                if (i == j) {
                    lower[i * n + i] = Math.sqrt(sum > jitter ? sum : jitter);
                }
                else {
                    lower[i * n + j] = sum / lower[j * n + j];
                }
            }
        }
        for (int column = 0; column < m; column++) {
            for (int i = 0; i < n; i++) {
                double sum = b[i * m + column];
                for (int k = 0; k < i; k++) {
                    sum -= lower[i * n + k] * b[k * m + column];
                }
                b[i * m + column] = sum / lower[i * n + i];
            }
            for (int i = n - 1; i >= 0; i--) {
                double sum = b[i * m + column];
                for (int k = i + 1; k < n; k++) {
                    sum -= lower[k * n + i] * b[k * m + column];
                }
                b[i * m + column] = sum / lower[i * n + i];
            }
        }
    }
}
