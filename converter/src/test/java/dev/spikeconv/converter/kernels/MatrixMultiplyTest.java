package dev.spikeconv.converter.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** The blocked GEMM against its scalar definition, for shapes around every block size and edge (randomized). */
class MatrixMultiplyTest {
    private static final SplittableRandom SEEDS = new SplittableRandom(20261207);

    private static float[] random(SplittableRandom random, int length) {
        float[] values = new float[length];
        for (int i = 0; i < length; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return values;
    }

    @RepeatedTest(40)
    void productMatchesTheScalarDefinition() {
        SplittableRandom random = SEEDS.split();
        int tokens = random.nextInt(1, 14);
        int rows = random.nextInt(1, 2 * MatrixMultiply.PANEL_ROWS + 40);
        int columns = random.nextInt(1, 2 * MatrixMultiply.DEPTH + 70);
        float[] input = random(random, tokens * columns);
        float[] weights = random(random, rows * columns);
        float[] expected = new float[tokens * rows];
        float[] actual = new float[tokens * rows];
        java.util.Arrays.fill(actual, Float.NaN);
        ScalarKernels.multiplyTransposed(input, tokens, weights, rows, columns, expected);
        MatrixMultiply.multiply(input, tokens, WeightRows.of(weights, rows, columns), actual);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("[%d, %d] of %d x %d x %d", i / rows, i % rows, tokens, columns, rows)
                    .isCloseTo(expected[i], within((float) (1e-6 * Math.sqrt(columns) * 4)));
        }
    }

    /** Block sums arrive once per block and row range, in column order, and add up to the exact integer products. */
    @Test
    void blocksHandOverExactSumsOfIntegers() {
        SplittableRandom random = SEEDS.split();
        int tokens = 11;
        int rows = MatrixMultiply.PANEL_ROWS + 7;
        int columns = 700;
        float[] counts = new float[tokens * columns];
        byte[] codes = new byte[rows * columns];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = random.nextInt(-127, 128);
        }
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) random.nextInt(-127, 128);
        }
        MemorySegment segment = MemorySegment.ofArray(codes);
        WeightRows weights = new WeightRows() {
            @Override
            public int rows() {
                return rows;
            }

            @Override
            public int columns() {
                return columns;
            }

            @Override
            public void decode(int row, int firstColumn, int columnCount, float[] destination, int offset) {
                Int8Decoding.decode(segment, (long) row * columns + firstColumn, 1f, destination, offset, columnCount);
            }
        };
        int[] starts = {0, 100, 356, 612};
        long[][] sums = new long[starts.length][tokens * rows];
        List<String> calls = new ArrayList<>();
        MatrixMultiply.multiplyInBlocks(counts, tokens, weights, starts, (first, firstRow, rowCount, partial, width) -> {
            synchronized (calls) {
                calls.add(first + "@" + firstRow);
            }
            int block = java.util.Arrays.binarySearch(starts, first);
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < rowCount; r++) {
                    float value = partial[t * width + r];
                    assertThat(value).isEqualTo((float) Math.rint(value));
                    sums[block][t * rows + firstRow + r] = (long) value;
                }
            }
        });
        assertThat(calls).hasSize(starts.length * 2);
        for (int block = 0; block < starts.length; block++) {
            int end = block + 1 < starts.length ? starts[block + 1] : columns;
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < rows; r++) {
                    long exact = 0;
                    for (int j = starts[block]; j < end; j++) {
                        exact += (long) codes[r * columns + j] * (long) counts[t * columns + j];
                    }
                    assertThat(sums[block][t * rows + r]).isEqualTo(exact);
                }
            }
        }
    }

    @RepeatedTest(20)
    void int8DecodingMatchesItsDefinition() {
        SplittableRandom random = SEEDS.split();
        int length = random.nextInt(0, 300);
        int offset = random.nextInt(0, 17);
        byte[] bytes = new byte[offset + length];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) random.nextInt(-128, 128);
        }
        float scale = (float) random.nextDouble(1e-4, 2);
        float[] expected = new float[length + 3];
        float[] actual = new float[length + 3];
        Int8Decoding.decodeScalar(MemorySegment.ofArray(bytes), offset, scale, expected, 3, length);
        Int8Decoding.decode(MemorySegment.ofArray(bytes), offset, scale, actual, 3, length);
        assertThat(actual).isEqualTo(expected);
    }

    @RepeatedTest(20)
    void stateRowUpdateMatchesItsDefinition() {
        SplittableRandom random = SEEDS.split();
        int length = random.nextInt(0, 200);
        float[] target = random(random, length + 5);
        float[] copy = target.clone();
        float[] source = random(random, length + 2);
        ScalarKernels.scaleAndAdd(copy, 5, 0.9f, -0.3f, source, 2, length);
        VectorKernels.scaleAndAdd(target, 5, 0.9f, -0.3f, source, 2, length);
        for (int i = 0; i < target.length; i++) {
            assertThat(target[i]).isCloseTo(copy[i], within(1e-6f));
        }
    }
}
