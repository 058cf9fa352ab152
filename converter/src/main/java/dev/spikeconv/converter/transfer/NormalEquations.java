package dev.spikeconv.converter.transfer;

import dev.spikeconv.converter.kernels.Cholesky;
import dev.spikeconv.converter.kernels.MatrixMultiply;
import dev.spikeconv.converter.kernels.WeightRows;

/**
 * Accumulates the centred normal equations of a linear least-squares fit {@code Y ≈ X B + c} and solves them with a
 * ridge penalty by Cholesky factorisation. Rows are gathered in blocks of {@link #BLOCK_ROWS}; each block's products
 * {@code Xᵀ X} and {@code Xᵀ Y} run as float32 matrix products (sums of at most {@link #BLOCK_ROWS} terms) and are added
 * up in double precision. The data are shifted by the first block's means first, so the products hold the spread
 * around the mean and not the mean itself (the centred equations do not change under a shift).
 */
final class NormalEquations {
    static final int BLOCK_ROWS = 256;

    private final int features;
    private final int targets;
    private final double[] featureSums;
    private final double[] targetSums;
    private final double[] gram;
    private final double[] cross;
    private final double[] targetSquares;
    private final float[] blockFeatures;
    private final float[] blockTargets;
    private float[] featureShift;
    private float[] targetShift;
    private int blockCount;
    private long rows;

    NormalEquations(int features, int targets) {
        this.features = features;
        this.targets = targets;
        this.featureSums = new double[features];
        this.targetSums = new double[targets];
        this.gram = new double[features * features];
        this.cross = new double[features * targets];
        this.targetSquares = new double[targets];
        this.blockFeatures = new float[BLOCK_ROWS * features];
        this.blockTargets = new float[BLOCK_ROWS * targets];
    }

    /** Adds {@code count} rows: {@code x [count, features]}, {@code y [count, targets]}. */
    void add(float[] x, float[] y, int count) {
        for (int row = 0; row < count; row++) {
            System.arraycopy(x, row * features, blockFeatures, blockCount * features, features);
            System.arraycopy(y, row * targets, blockTargets, blockCount * targets, targets);
            blockCount++;
            if (blockCount == BLOCK_ROWS) {
                flush();
            }
        }
    }

    /** Folds the gathered rows into the sums: shifted, transposed, multiplied. */
    private void flush() {
        if (blockCount == 0) {
            return;
        }
        int count = blockCount;
        blockCount = 0;
        if (featureShift == null) {
            featureShift = columnMeans(blockFeatures, count, features);
            targetShift = columnMeans(blockTargets, count, targets);
        }
        float[] x = shiftedTransposed(blockFeatures, count, features, featureShift);
        float[] y = shiftedTransposed(blockTargets, count, targets, targetShift);
        float[] products = new float[features * Math.max(features, targets)];
        MatrixMultiply.multiply(x, features, WeightRows.of(x, features, count), products);
        for (int i = 0; i < features * features; i++) {
            gram[i] += products[i];
        }
        MatrixMultiply.multiply(x, features, WeightRows.of(y, targets, count), products);
        for (int i = 0; i < features * targets; i++) {
            cross[i] += products[i];
        }
        for (int i = 0; i < features; i++) {
            double sum = 0;
            for (int row = 0; row < count; row++) {
                sum += x[i * count + row];
            }
            featureSums[i] += sum;
        }
        for (int k = 0; k < targets; k++) {
            double sum = 0;
            double squares = 0;
            for (int row = 0; row < count; row++) {
                double value = y[k * count + row];
                sum += value;
                squares += value * value;
            }
            targetSums[k] += sum;
            targetSquares[k] += squares;
        }
        rows += count;
    }

    private static float[] columnMeans(float[] values, int count, int width) {
        double[] sums = new double[width];
        for (int row = 0; row < count; row++) {
            for (int i = 0; i < width; i++) {
                sums[i] += values[row * width + i];
            }
        }
        float[] means = new float[width];
        for (int i = 0; i < width; i++) {
            means[i] = (float) (sums[i] / count);
        }
        return means;
    }

    /** {@code [width, count]}: column i of the block minus its shift, as a row. */
    private static float[] shiftedTransposed(float[] values, int count, int width, float[] shift) {
        float[] transposed = new float[width * count];
        for (int row = 0; row < count; row++) {
            for (int i = 0; i < width; i++) {
                transposed[i * count + row] = values[row * width + i] - shift[i];
            }
        }
        return transposed;
    }

    long rows() {
        flush();
        return rows;
    }

    /** Mean diagonal of the centred Gram matrix: the scale ridge penalties are relative to. */
    double meanVariance() {
        flush();
        double sum = 0;
        for (int i = 0; i < features; i++) {
            sum += gram[i * features + i] - featureSums[i] * featureSums[i] / rows;
        }
        return Math.max(sum / features, 1e-30);
    }

    /** {@code Σ||y - ȳ||²}: the residual of the intercept-only fit. */
    double centredTargetSumOfSquares() {
        flush();
        double sum = 0;
        for (int k = 0; k < targets; k++) {
            sum += targetSquares[k] - targetSums[k] * targetSums[k] / rows;
        }
        return sum;
    }

    /**
     * Residual sum of squares of the ridge fit with penalty {@code lambda} over the rows added, from the normal equations:
     * {@code Σ||y - ȳ||² - tr(C_cᵀ (G_c + λI)⁻¹ C_c)}, exact for λ = 0 and a close estimate for a small λ. Needs only the
     * factor and one triangular solve: {@code tr(C_cᵀ (L Lᵀ)⁻¹ C_c) = ||L⁻¹ C_c||²}.
     */
    double residualSumOfSquares(double lambda) {
        Factored factored = factor(lambda);
        double[] y = centredCross(all());
        Cholesky.solveLower(factored.lower, features, y, targets);
        double explained = 0;
        for (double value : y) {
            explained += value * value;
        }
        return Math.max(0, centredTargetSumOfSquares() - explained);
    }

    /** The fit of some targets: weights {@code [features, columns.length]} and intercept {@code [columns.length]}. */
    record Solution(double[] weights, double[] intercept, int features, int[] columns) {
        /** {@code y = x B + c} for rows of {@code x}: {@code [count, columns.length]}, in float32 (to compare fits, not to keep). */
        float[] predict(float[] x, int count) {
            int width = columns.length;
            float[] transposed = new float[width * features];
            for (int i = 0; i < features; i++) {
                for (int k = 0; k < width; k++) {
                    transposed[k * features + i] = (float) weights[i * width + k];
                }
            }
            float[] y = new float[count * width];
            MatrixMultiply.multiply(x, count, WeightRows.of(transposed, width, features), y);
            for (int row = 0; row < count; row++) {
                for (int k = 0; k < width; k++) {
                    y[row * width + k] += (float) intercept[k];
                }
            }
            return y;
        }
    }

    /** Minimises {@code ||Y - X B - c||² + λ ||B||²} over the rows added so far. */
    Solution solve(double lambda) {
        return factor(lambda).solve(all());
    }

    /** The same for the target columns {@code columns} only (each column's fit does not depend on the others). */
    Solution solve(double lambda, int[] columns) {
        return factor(lambda).solve(columns);
    }

    private int[] all() {
        int[] all = new int[targets];
        for (int k = 0; k < targets; k++) {
            all[k] = k;
        }
        return all;
    }

    /** The centred cross products of the target {@code columns}, {@code [features, columns.length]}. */
    private double[] centredCross(int[] columns) {
        int width = columns.length;
        double[] centred = new double[features * width];
        for (int i = 0; i < features; i++) {
            for (int c = 0; c < width; c++) {
                int k = columns[c];
                centred[i * width + c] = cross[i * targets + k] - featureSums[i] * targetSums[k] / rows;
            }
        }
        return centred;
    }

    /** The system {@code G_c + λI} factored: solves for any target columns without factoring again. */
    Factored factor(double lambda) {
        flush();
        if (rows == 0) {
            throw new IllegalStateException("no rows to fit");
        }
        double[] matrix = new double[features * features];
        for (int i = 0; i < features; i++) {
            for (int j = 0; j <= i; j++) {
                matrix[i * features + j] = gram[i * features + j] - featureSums[i] * featureSums[j] / rows;
            }
            matrix[i * features + i] += lambda;
        }
        Cholesky.factorInPlace(matrix, features);
        return new Factored(matrix);
    }

    /** A factored system of these equations. */
    final class Factored {
        private final double[] lower;

        private Factored(double[] lower) {
            this.lower = lower;
        }

        Solution solve(int[] columns) {
            int width = columns.length;
            double[] weights = centredCross(columns);
            Cholesky.solveFactored(lower, features, weights, width);
            double[] intercept = new double[width];
            for (int c = 0; c < width; c++) {
                int k = columns[c];
                double sum = targetShift[k] + targetSums[k] / rows;
                for (int i = 0; i < features; i++) {
                    sum -= (featureShift[i] + featureSums[i] / rows) * weights[i * width + c];
                }
                intercept[c] = sum;
            }
            return new Solution(weights, intercept, features, columns.clone());
        }
    }
}
