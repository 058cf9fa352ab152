package dev.spikeconv.converter.kernels;

import java.util.stream.IntStream;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Solves {@code A X = B} for a symmetric positive definite {@code A [n, n]} and {@code B [n, m]} (row-major doubles)
 * by Cholesky factorisation {@code A = L Lᵀ}. A pivot that is not above {@code 1e-12 ·} the largest diagonal (a
 * singular A) takes that value instead, so the solution stays finite.
 *
 * <p>{@link #solve} is blocked and vectorized: panels of {@link #PANEL} columns, the trailing update and both
 * triangular solves as row updates {@code y += a · x} over contiguous rows, in parallel over independent rows or column
 * chunks. Every value is computed by the same operations in the same order whatever the threads, so the result is
 * deterministic. {@link #solveScalar} is the textbook algorithm as plain loops, its oracle: the two agree up to the
 * order of summation.
 */
public final class Cholesky {
    private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
    /** Columns factored together before the trailing update. */
    static final int PANEL = 64;
    /** Right-hand-side columns one task of the triangular solves owns. */
    static final int COLUMN_CHUNK = 256;
    /** Columns of a trailing-update row updated together: a tile stays in the first-level cache across the panel. */
    private static final int TILE = 512;
    /** Below this many multiply-adds a step runs on the calling thread. */
    private static final long PARALLEL_THRESHOLD = 1 << 16;

    private Cholesky() {}

    /** Solves {@code A X = B} in place in {@code b}; {@code a}'s lower triangle is read and overwritten by {@code L}. */
    public static void solve(double[] a, int n, double[] b, int m) {
        check(a, n, b, m);
        factor(a, n);
        forward(a, n, b, m);
        backward(a, n, b, m);
    }

    /** Factors {@code A = L Lᵀ} in place: {@code a}'s lower triangle is read and overwritten by {@code L}. */
    public static void factorInPlace(double[] a, int n) {
        check(a, n, new double[0], 0);
        factor(a, n);
    }

    /** Solves {@code L Lᵀ X = B} in place in {@code b}, {@code l} from {@link #factorInPlace}. */
    public static void solveFactored(double[] l, int n, double[] b, int m) {
        check(l, n, b, m);
        forward(l, n, b, m);
        backward(l, n, b, m);
    }

    /** Solves {@code L Y = B} in place in {@code b}: half a solve, enough for {@code Bᵀ A⁻¹ B = Yᵀ Y}. */
    public static void solveLower(double[] l, int n, double[] b, int m) {
        check(l, n, b, m);
        forward(l, n, b, m);
    }

    /** The same as plain loops, leaving {@code a} as it was. */
    public static void solveScalar(double[] a, int n, double[] b, int m) {
        check(a, n, b, m);
        double[] lower = new double[n * n];
        double jitter = jitter(a, n);
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

    private static void check(double[] a, int n, double[] b, int m) {
        if (a.length < (long) n * n || b.length < (long) n * m) {
            throw new IllegalArgumentException("a [" + n + ", " + n + "] system with " + m + " right-hand sides does not fit arrays of " + a.length + " and "
                    + b.length);
        }
    }

    private static double jitter(double[] a, int n) {
        double largestDiagonal = 0;
        for (int i = 0; i < n; i++) {
            largestDiagonal = Math.max(largestDiagonal, Math.abs(a[i * n + i]));
        }
        return Math.max(largestDiagonal, 1e-300) * 1e-12;
    }

    /** Right-looking blocked factorisation: each panel's columns, then the rows below it, then the trailing matrix. */
    private static void factor(double[] a, int n) {
        double jitter = jitter(a, n);
        double[] transposed = new double[PANEL * n];
        for (int first = 0; first < n; first += PANEL) {
            int end = Math.min(n, first + PANEL);
            int panelStart = first;
            for (int j = first; j < end; j++) {
                double sum = a[j * n + j];
                for (int k = first; k < j; k++) {
                    sum -= a[j * n + k] * a[j * n + k];
                }
                a[j * n + j] = Math.sqrt(sum > jitter ? sum : jitter);
                for (int i = j + 1; i < end; i++) {
                    a[i * n + j] = panelEntry(a, n, i, j, panelStart);
                }
            }
            rows(end, n, (long) (n - end) * PANEL * PANEL / 2).forEach(i -> {
                for (int j = panelStart; j < end; j++) {
                    a[i * n + j] = panelEntry(a, n, i, j, panelStart);
                }
            });
            if (end == n) {
                break;
            }
            // The panel's columns as rows, so that the trailing update adds contiguous rows.
            int width = end - first;
            for (int k = 0; k < width; k++) {
                for (int j = end; j < n; j++) {
                    transposed[k * n + j] = a[j * n + first + k];
                }
            }
            long work = (long) (n - end) * (n - end) / 2 * width;
            rows(end, n, work).forEach(i -> {
                for (int tile = end; tile <= i; tile += TILE) {
                    int length = Math.min(i + 1, tile + TILE) - tile;
                    for (int k = 0; k < width; k++) {
                        double factor = a[i * n + panelStart + k];
                        if (factor != 0) {
                            subtractScaled(transposed, k * n + tile, factor, a, i * n + tile, length);
                        }
                    }
                }
            });
        }
    }

    /** {@code L[i][j] = (A[i][j] - Σ L[i][k] L[j][k]) / L[j][j]}, the sum over the panel's columns before j (earlier panels are in A already). */
    private static double panelEntry(double[] a, int n, int i, int j, int panelStart) {
        double sum = a[i * n + j];
        for (int k = panelStart; k < j; k++) {
            sum -= a[i * n + k] * a[j * n + k];
        }
        return sum / a[j * n + j];
    }

    /** {@code L Y = B}: blocks of rows, each first updated by every solved row above it, then solved within. */
    private static void forward(double[] l, int n, double[] b, int m) {
        chunks(m, (long) n * n / 2 * m).forEach(chunk -> {
            int from = chunk * COLUMN_CHUNK;
            int length = Math.min(m, from + COLUMN_CHUNK) - from;
            for (int first = 0; first < n; first += PANEL) {
                int end = Math.min(n, first + PANEL);
                for (int k = 0; k < first; k++) {
                    for (int i = first; i < end; i++) {
                        double factor = l[i * n + k];
                        if (factor != 0) {
                            subtractScaled(b, k * m + from, factor, b, i * m + from, length);
                        }
                    }
                }
                for (int i = first; i < end; i++) {
                    for (int k = first; k < i; k++) {
                        double factor = l[i * n + k];
                        if (factor != 0) {
                            subtractScaled(b, k * m + from, factor, b, i * m + from, length);
                        }
                    }
                    divide(b, i * m + from, length, l[i * n + i]);
                }
            }
        });
    }

    /** {@code Lᵀ X = Y}: the same from the last block up. */
    private static void backward(double[] l, int n, double[] b, int m) {
        chunks(m, (long) n * n / 2 * m).forEach(chunk -> {
            int from = chunk * COLUMN_CHUNK;
            int length = Math.min(m, from + COLUMN_CHUNK) - from;
            for (int end = n; end > 0; end -= PANEL) {
                int first = Math.max(0, end - PANEL);
                for (int k = end; k < n; k++) {
                    for (int i = first; i < end; i++) {
                        double factor = l[k * n + i];
                        if (factor != 0) {
                            subtractScaled(b, k * m + from, factor, b, i * m + from, length);
                        }
                    }
                }
                for (int i = end - 1; i >= first; i--) {
                    for (int k = i + 1; k < end; k++) {
                        double factor = l[k * n + i];
                        if (factor != 0) {
                            subtractScaled(b, k * m + from, factor, b, i * m + from, length);
                        }
                    }
                    divide(b, i * m + from, length, l[i * n + i]);
                }
            }
        });
    }

    /** {@code y[yOffset + i] -= factor · x[xOffset + i]} for i below {@code length}. */
    static void subtractScaled(double[] x, int xOffset, double factor, double[] y, int yOffset, int length) {
        int i = 0;
        int upperBound = SPECIES.loopBound(length);
        DoubleVector scale = DoubleVector.broadcast(SPECIES, -factor);
        for (; i < upperBound; i += SPECIES.length()) {
            DoubleVector.fromArray(SPECIES, x, xOffset + i).fma(scale, DoubleVector.fromArray(SPECIES, y, yOffset + i)).intoArray(y, yOffset + i);
        }
        for (; i < length; i++) {
            y[yOffset + i] = Math.fma(x[xOffset + i], -factor, y[yOffset + i]);
        }
    }

    private static void divide(double[] values, int offset, int length, double divisor) {
        for (int i = offset; i < offset + length; i++) {
            values[i] /= divisor;
        }
    }

    private static IntStream rows(int from, int to, long work) {
        IntStream rows = IntStream.range(from, to);
        return work >= PARALLEL_THRESHOLD ? rows.parallel() : rows;
    }

    private static IntStream chunks(int columns, long work) {
        IntStream chunks = IntStream.range(0, (columns + COLUMN_CHUNK - 1) / COLUMN_CHUNK);
        return work >= PARALLEL_THRESHOLD ? chunks.parallel() : chunks;
    }
}
