package dev.spikeconv.converter.reference;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.converter.kernels.WeightRows;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.FloatEncodings;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Weights decoded in blocks as the engine reads them give the tensor's own values bit for bit, whatever the dtype. */
class TensorRowsTest {
    private static final int ROWS = 7;
    private static final int COLUMNS = 300;

    enum Storage {
        F32,
        BF16,
        F16,
        INT8_GROUPS_OF_128,
        INT8_PER_ROW
    }

    private static TensorView tensor(Storage storage, SplittableRandom random) {
        int count = ROWS * COLUMNS;
        return switch (storage) {
            case F32, BF16, F16 -> {
                DType dtype = DType.valueOf(storage.name());
                ByteBuffer bytes = ByteBuffer.allocate(count * dtype.elementSize()).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < count; i++) {
                    float value = (float) random.nextGaussian();
                    switch (dtype) {
                        case BF16 -> bytes.putShort(FloatEncodings.floatToBfloat16(value));
                        case F16 -> bytes.putShort(FloatEncodings.floatToHalf(value));
                        default -> bytes.putFloat(value);
                    }
                }
                yield new StoredTensor("w", dtype, Shape.of(ROWS, COLUMNS), MemorySegment.ofArray(bytes.array()));
            }
            case INT8_GROUPS_OF_128, INT8_PER_ROW -> {
                int group = storage == Storage.INT8_PER_ROW ? COLUMNS : 128;
                int groups = (COLUMNS + group - 1) / group;
                byte[] codes = new byte[count];
                for (int i = 0; i < count; i++) {
                    codes[i] = (byte) random.nextInt(-127, 128);
                }
                float[] scales = new float[ROWS * groups];
                for (int i = 0; i < scales.length; i++) {
                    scales[i] = (float) random.nextDouble(1e-3, 1e-1);
                }
                yield new ScaledInt8Tensor(StoredTensor.ofBytes("w", Shape.of(ROWS, COLUMNS), codes), StoredTensor.ofFloats("w_scale", Shape.of(ROWS, groups),
                        scales), group);
            }
        };
    }

    @ParameterizedTest
    @EnumSource(Storage.class)
    void blocksDecodeToTheTensorsOwnValues(Storage storage) {
        SplittableRandom random = new SplittableRandom(storage.ordinal());
        TensorView tensor = tensor(storage, random);
        WeightRows rows = TensorRows.of(tensor);
        assertThat(rows.rows()).isEqualTo(ROWS);
        assertThat(rows.columns()).isEqualTo(COLUMNS);
        float[] expected = tensor.toFloats();
        for (int row = 0; row < ROWS; row++) {
            for (int first : new int[] {0, 1, 127, 128, 250}) {
                int count = Math.min(COLUMNS - first, 1 + random.nextInt(COLUMNS));
                float[] actual = new float[count + 2];
                rows.decode(row, first, count, actual, 2);
                for (int i = 0; i < count; i++) {
                    assertThat(Float.floatToRawIntBits(actual[2 + i])).as("[%d, %d]", row, first + i)
                            .isEqualTo(Float.floatToRawIntBits(expected[row * COLUMNS + first + i]));
                }
            }
        }
        if (tensor instanceof ScaledInt8Tensor int8) {
            float[] codes = int8.codes().toFloats();
            float[] decoded = new float[COLUMNS];
            TensorRows.codes(int8).decode(3, 0, COLUMNS, decoded, 0);
            for (int i = 0; i < COLUMNS; i++) {
                assertThat(decoded[i]).isEqualTo(codes[3 * COLUMNS + i]);
            }
        }
    }
}
