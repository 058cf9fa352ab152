package dev.spikeconv.jmh;

import dev.spikeconv.formats.tensor.Bfloat16Decoding;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Reading tensors into floats as convert and the engines do: bf16 (safetensors' usual dtype) and
 * float32 from off-heap memory, as a mapped file presents them, in chunks of 4 Mi elements.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class TensorReadBenchmark {
    static final int ELEMENTS = 1 << 22;

    private Arena arena;
    private StoredTensor bfloat16;
    private StoredTensor float32;
    private float[] destination;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofConfined();
        SplittableRandom random = new SplittableRandom(4);
        MemorySegment halves = arena.allocate(2L * ELEMENTS);
        MemorySegment floats = arena.allocate(4L * ELEMENTS);
        for (int i = 0; i < ELEMENTS; i++) {
            float value = (float) random.nextGaussian();
            halves.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, (short) (Float.floatToRawIntBits(value) >>> 16));
            floats.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, value);
        }
        bfloat16 = new StoredTensor("bf16", DType.BF16, Shape.of(ELEMENTS), halves);
        float32 = new StoredTensor("f32", DType.F32, Shape.of(ELEMENTS), floats);
        destination = new float[ELEMENTS];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** 8 MiB of bf16 per operation. */
    @Benchmark
    public float[] readBfloat16() {
        bfloat16.readFloats(0, destination, 0, ELEMENTS);
        return destination;
    }

    /** The same through the scalar definition of the bf16 decoding, for comparison with the vector loop above. */
    @Benchmark
    public float[] readBfloat16Scalar() {
        Bfloat16Decoding.decodeScalar(bfloat16.data(), 0, destination, 0, ELEMENTS);
        return destination;
    }

    /** 16 MiB of float32 per operation. */
    @Benchmark
    public float[] readFloat32() {
        float32.readFloats(0, destination, 0, ELEMENTS);
        return destination;
    }
}
