package dev.spikeconv.converter.kernels;

import java.util.Arrays;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code y[t][r] = Σ_k x[t][k] · w[r][k]}: activations {@code [tokens, columns]} times a weight matrix read in its
 * stored form ({@link WeightRows}), the GEMM of the reference engine. Blocked so that arithmetic, not memory, bounds it: the weights are
 * decoded once per block of {@value #DEPTH} columns and {@link #PANEL_ROWS} rows into a packed, transposed panel that
 * stays in the core's cache while every token passes over it; a micro-kernel keeps 5 tokens × 2 vectors of rows in
 * registers and broadcasts the activations. Panels run in parallel on the common pool. {@link ScalarKernels#multiplyTransposed}
 * is the definition (the sums differ in order only).
 */
public final class MatrixMultiply {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Output rows of one micro-kernel call: two vectors. */
    static final int MICRO_ROWS = 2 * LANES;
    /** Tokens of one micro-kernel call. */
    static final int MICRO_TOKENS = 5;
    /** Columns per packed block. */
    static final int DEPTH = 256;
    /** Rows per packed panel: a whole number of micro-panels, about 240 KB of floats per panel with {@link #DEPTH} columns. */
    static final int PANEL_ROWS = MICRO_ROWS * Math.max(1, 240 / MICRO_ROWS);
    /** Below this many multiply-adds a product runs on the calling thread: forking costs more. */
    private static final long PARALLEL_THRESHOLD = 1 << 20;

    private MatrixMultiply() {}

    /** {@code output [tokens, weights.rows()] = input [tokens, weights.columns()] · weightsᵀ}. */
    public static void multiply(float[] input, int tokens, WeightRows weights, float[] output) {
        int rows = weights.rows();
        check(input, tokens, weights, output.length);
        Arrays.fill(output, 0, tokens * rows, 0f);
        run(input, tokens, weights, new int[] {0}, (first, firstRow, rowCount, partial, width) -> {
            for (int token = 0; token < tokens; token++) {
                VectorKernels.addScaled(output, token * rows + firstRow, 1f, partial, token * width, rowCount);
            }
        });
    }

    /** What a blocked product hands over: the sums of one block of columns for some rows, {@code partial[token * width + r]}. */
    @FunctionalInterface
    public interface BlockSums {
        /**
         * Called once per block of columns from {@code firstColumn} for rows {@code [firstRow, firstRow + rowCount)}, in
         * column order for a given row range; different row ranges may be handed over concurrently.
         */
        void accept(int firstColumn, int firstRow, int rowCount, float[] partial, int width);
    }

    /**
     * The product in blocks of columns starting at {@code blockStarts} (ascending, from 0), each block's sums handed to
     * {@code sums} instead of added up: the integer products of spiking projections scale and add them per input group.
     */
    public static void multiplyInBlocks(float[] input, int tokens, WeightRows weights, int[] blockStarts, BlockSums sums) {
        check(input, tokens, weights, Long.MAX_VALUE);
        if (blockStarts.length == 0 || blockStarts[0] != 0) {
            throw new IllegalArgumentException("the first block must start at column 0");
        }
        for (int i = 1; i < blockStarts.length; i++) {
            if (blockStarts[i] <= blockStarts[i - 1] || blockStarts[i] >= weights.columns()) {
                throw new IllegalArgumentException("block starts must ascend inside the " + weights.columns() + " columns: " + Arrays.toString(blockStarts));
            }
        }
        run(input, tokens, weights, blockStarts, sums);
    }

    private static void check(float[] input, int tokens, WeightRows weights, long outputLength) {
        if (input.length < (long) tokens * weights.columns() || outputLength < (long) tokens * weights.rows()) {
            throw new IllegalArgumentException("a [" + tokens + ", " + weights.columns() + "] input and [" + tokens + ", " + weights.rows()
                    + "] output do not fit arrays of " + input.length + " and " + outputLength);
        }
    }

    private static void run(float[] input, int tokens, WeightRows weights, int[] blockStarts, BlockSums sums) {
        int rows = weights.rows();
        int panels = (rows + PANEL_ROWS - 1) / PANEL_ROWS;
        IntStream work = IntStream.range(0, panels);
        if ((long) tokens * rows * weights.columns() >= PARALLEL_THRESHOLD && panels > 1) {
            work = work.parallel();
        }
        work.forEach(panel -> panel(input, tokens, weights, blockStarts, sums, panel * PANEL_ROWS, Math.min(rows, (panel + 1) * PANEL_ROWS)));
    }

    /** Rows {@code [firstRow, endRow)}, every block of columns in turn, each decoded once into a packed panel. */
    private static void panel(float[] input, int tokens, WeightRows weights, int[] blockStarts, BlockSums sums, int firstRow, int endRow) {
        int columns = weights.columns();
        int rowCount = endRow - firstRow;
        int width = (rowCount + MICRO_ROWS - 1) / MICRO_ROWS * MICRO_ROWS;
        float[] packed = new float[Math.min(DEPTH, columns) * width];
        float[] row = new float[Math.min(DEPTH, columns)];
        float[] partial = new float[tokens * width];
        for (int index = 0; index < blockStarts.length; index++) {
            int block = blockStarts[index];
            int blockEnd = index + 1 < blockStarts.length ? blockStarts[index + 1] : columns;
            Arrays.fill(partial, 0f);
            for (int first = block; first < blockEnd; first += DEPTH) {
                int depth = Math.min(DEPTH, blockEnd - first);
                // Transposed: packed[k * width + r], so a micro-kernel loads the weights of consecutive rows for one column.
                for (int r = 0; r < rowCount; r++) {
                    weights.decode(firstRow + r, first, depth, row, 0);
                    for (int k = 0; k < depth; k++) {
                        packed[k * width + r] = row[k];
                    }
                }
                int token = 0;
                for (; token + MICRO_TOKENS <= tokens; token += MICRO_TOKENS) {
                    for (int micro = 0; micro < width; micro += MICRO_ROWS) {
                        microKernel(input, columns, token, first, depth, packed, width, micro, partial);
                    }
                }
                for (; token < tokens; token++) {
                    for (int micro = 0; micro < width; micro += MICRO_ROWS) {
                        singleToken(input, columns, token, first, depth, packed, width, micro, partial);
                    }
                }
            }
            sums.accept(block, firstRow, rowCount, partial, width);
        }
    }

    /**
     * Five tokens × two vectors of rows over {@code depth} columns, added into the output: ten accumulators, two weight
     * vectors and one broadcast fill 13 of AVX2's 16 registers (four tokens × three vectors spill and run at half the speed).
     */
    private static void microKernel(float[] input, int columns, int token, int first, int depth, float[] packed, int width, int micro, float[] partial) {
        FloatVector c00 = FloatVector.zero(SPECIES);
        FloatVector c01 = FloatVector.zero(SPECIES);
        FloatVector c10 = FloatVector.zero(SPECIES);
        FloatVector c11 = FloatVector.zero(SPECIES);
        FloatVector c20 = FloatVector.zero(SPECIES);
        FloatVector c21 = FloatVector.zero(SPECIES);
        FloatVector c30 = FloatVector.zero(SPECIES);
        FloatVector c31 = FloatVector.zero(SPECIES);
        FloatVector c40 = FloatVector.zero(SPECIES);
        FloatVector c41 = FloatVector.zero(SPECIES);
        int x0 = token * columns + first;
        int x1 = x0 + columns;
        int x2 = x1 + columns;
        int x3 = x2 + columns;
        int x4 = x3 + columns;
        for (int k = 0, base = micro; k < depth; k++, base += width) {
            FloatVector b0 = FloatVector.fromArray(SPECIES, packed, base);
            FloatVector b1 = FloatVector.fromArray(SPECIES, packed, base + LANES);
            FloatVector a = FloatVector.broadcast(SPECIES, input[x0 + k]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(SPECIES, input[x1 + k]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(SPECIES, input[x2 + k]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(SPECIES, input[x3 + k]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            a = FloatVector.broadcast(SPECIES, input[x4 + k]);
            c40 = b0.fma(a, c40);
            c41 = b1.fma(a, c41);
        }
        int offset = token * width + micro;
        add(partial, offset, c00, c01);
        add(partial, offset + width, c10, c11);
        add(partial, offset + 2 * width, c20, c21);
        add(partial, offset + 3 * width, c30, c31);
        add(partial, offset + 4 * width, c40, c41);
    }

    /** One token × two vectors of rows: the tokens left over after the blocks. */
    private static void singleToken(float[] input, int columns, int token, int first, int depth, float[] packed, int width, int micro, float[] partial) {
        FloatVector c0 = FloatVector.zero(SPECIES);
        FloatVector c1 = FloatVector.zero(SPECIES);
        int x = token * columns + first;
        for (int k = 0, base = micro; k < depth; k++, base += width) {
            FloatVector a = FloatVector.broadcast(SPECIES, input[x + k]);
            c0 = FloatVector.fromArray(SPECIES, packed, base).fma(a, c0);
            c1 = FloatVector.fromArray(SPECIES, packed, base + LANES).fma(a, c1);
        }
        add(partial, token * width + micro, c0, c1);
    }

    /** Adds two vectors into {@code partial} from {@code offset} (a panel's padding rows are computed and never read). */
    private static void add(float[] partial, int offset, FloatVector first, FloatVector second) {
        FloatVector.fromArray(SPECIES, partial, offset).add(first).intoArray(partial, offset);
        FloatVector.fromArray(SPECIES, partial, offset + LANES).add(second).intoArray(partial, offset + LANES);
    }
}
