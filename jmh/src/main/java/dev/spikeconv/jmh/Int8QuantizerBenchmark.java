package dev.spikeconv.jmh;

import dev.spikeconv.converter.quantization.Int8Quantizer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Quantizing a block of weight rows to int8 with group scales: the inner loop of convert. */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class Int8QuantizerBenchmark {
    static final int ROWS = 64;

    @Param({"4096"})
    public int columns;

    @Param({"128"})
    public int group;

    private float[] weights;
    private byte[] codes;
    private float[] scales;

    @Setup
    public void setUp() {
        SplittableRandom random = new SplittableRandom(1);
        weights = new float[ROWS * columns];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (float) random.nextGaussian() * 0.02f;
        }
        codes = new byte[weights.length];
        scales = new float[ROWS * Int8Quantizer.groupsPerRow(columns, group)];
    }

    /** One block of 64 rows with the Vector API quantizer convert uses; weights per second = score x 64 x columns. */
    @Benchmark
    public byte[] quantizeRows() {
        Int8Quantizer.quantize(weights, ROWS, columns, group, codes, scales);
        return codes;
    }

    /** The same block with the scalar definition (the oracle), for the speed-up. */
    @Benchmark
    public byte[] quantizeRowsScalar() {
        Int8Quantizer.quantizeScalar(weights, ROWS, columns, group, codes, scales);
        return codes;
    }
}
