package dev.spikeconv.formats.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TensorViewsTest {
    private static StoredTensor floats(String name, Shape shape, float... values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            buffer.putFloat(value);
        }
        return new StoredTensor(name, DType.F32, shape, MemorySegment.ofArray(buffer.array()));
    }

    /** Half-precision reads of any window decode every element as its own bits say. */
    @Test
    void halfPrecisionReadsDecodeEveryElementOfAnyWindow() {
        SplittableRandom random = new SplittableRandom(16);
        int elements = 20_000;
        byte[] bytes = new byte[elements * 2];
        random.nextBytes(bytes);
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (DType type : new DType[] {DType.BF16, DType.F16}) {
            StoredTensor tensor = new StoredTensor("h", type, Shape.of(elements), MemorySegment.ofArray(bytes));
            for (int window = 0; window < 40; window++) {
                int first = random.nextInt(elements);
                int length = random.nextInt(elements - first + 1);
                int destinationOffset = random.nextInt(5);
                float[] read = new float[destinationOffset + length];
                tensor.readFloats(first, read, destinationOffset, length);
                for (int i = 0; i < length; i++) {
                    short bits = buffer.getShort(2 * (first + i));
                    float expected = type == DType.BF16 ? FloatEncodings.bfloat16ToFloat(bits) : FloatEncodings.halfToFloat(bits);
                    assertThat(Float.floatToRawIntBits(read[destinationOffset + i])).as("%s element %d", type, first + i)
                            .isEqualTo(Float.floatToRawIntBits(expected));
                }
            }
        }
    }

    @Test
    void interleavedToRotateHalfMatchesTheTransformersConversion() {
        // transformers' convert_llama_weights_to_hf: w.view(heads, dim/heads/2, 2, in).transpose(1, 2).reshape(...)
        // maps interleaved row h*d + 2i + j to rotate-half row h*d + j*d/2 + i.
        int heads = 3;
        int headDimension = 6;
        int[] sourceRows = RowPermutedTensor.interleavedToRotateHalf(heads, headDimension);
        for (int head = 0; head < heads; head++) {
            for (int pair = 0; pair < headDimension / 2; pair++) {
                for (int part = 0; part < 2; part++) {
                    int interleaved = head * headDimension + 2 * pair + part;
                    int rotateHalf = head * headDimension + part * headDimension / 2 + pair;
                    assertThat(sourceRows[rotateHalf]).isEqualTo(interleaved);
                }
            }
        }
    }

    @Test
    void rowPermutedReadsAcrossRowBoundaries() {
        StoredTensor source = floats("m", Shape.of(3, 2), 0, 1, 10, 11, 20, 21);
        RowPermutedTensor permuted = new RowPermutedTensor(source, new int[] {2, 0, 1});
        assertThat(permuted.toFloats()).containsExactly(20, 21, 0, 1, 10, 11);
        float[] middle = new float[3];
        permuted.readFloats(1, middle, 0, 3);
        assertThat(middle).containsExactly(21, 0, 1);
        RowPermutedTensor vector = new RowPermutedTensor(floats("v", Shape.of(4), 0, 1, 2, 3), new int[] {3, 2, 1, 0});
        assertThat(vector.toFloats()).containsExactly(3, 2, 1, 0);
    }

    @Test
    void scaledInt8DequantizesPerGroupWithAShortLastGroup() {
        byte[] codes = {1, 2, 3, 4, 5, -1, -2, -3, -4, -5};
        StoredTensor codeTensor = new StoredTensor("w", DType.I8, Shape.of(2, 5), MemorySegment.ofArray(codes));
        StoredTensor scales = floats("w_scale", Shape.of(2, 3), 1, 10, 100, 2, 20, 200);
        ScaledInt8Tensor weight = new ScaledInt8Tensor(codeTensor, scales, 2);
        assertThat(weight.toFloats()).containsExactly(1, 2, 30, 40, 500, -2, -4, -60, -80, -1000);
        assertThat(weight.byteSize()).isEqualTo(10 + 24);
        assertThatThrownBy(() -> new ScaledInt8Tensor(codeTensor, scales, 3)).hasMessageContaining("expected F32 [2, 2]");
    }

    @Test
    void storedTensorsDecodeEveryScalarType() {
        MemorySegment bytes = MemorySegment.ofArray(new byte[] {(byte) 0xFF, 1, 0, 0});
        assertThat(new StoredTensor("u", DType.U8, Shape.of(4), bytes).toFloats()).containsExactly(255, 1, 0, 0);
        assertThat(new StoredTensor("i", DType.I8, Shape.of(4), bytes).toFloats()).containsExactly(-1, 1, 0, 0);
        assertThat(new StoredTensor("s", DType.I16, Shape.of(2), bytes).toFloats()).containsExactly(511, 0);
        assertThat(new StoredTensor("n", DType.I32, Shape.of(1), bytes).toFloats()).containsExactly(511);
        assertThatThrownBy(() -> new StoredTensor("x", DType.F32, Shape.of(2), bytes)).hasMessageContaining("8 expected");
        assertThatThrownBy(() -> new StoredTensor("q", DType.Q8_0, Shape.of(32), MemorySegment.ofArray(new byte[34]))).hasMessageContaining("block-quantized");
    }
}
