package dev.spikeconv.jmh;

import dev.spikeconv.converter.kernels.ScalarKernels;
import dev.spikeconv.converter.kernels.VectorKernels;
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

/** int8 weight codes times int8 spike counts in int32: the spiking projection's inner product, vector against scalar. */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class SpikeProductBenchmark {
    @Param({"4096"})
    public int length;

    private byte[] codes;
    private byte[] spikes;

    @Setup
    public void setUp() {
        SplittableRandom random = new SplittableRandom(2);
        codes = new byte[length];
        spikes = new byte[length];
        for (int i = 0; i < length; i++) {
            codes[i] = (byte) random.nextInt(-127, 128);
            // mostly silent, as dynamic thresholds make them (~3 spikes per input on average)
            spikes[i] = (byte) (random.nextInt(4) == 0 ? random.nextInt(-8, 9) : 0);
        }
    }

    @Benchmark
    public int vector() {
        return VectorKernels.int8Dot(codes, 0, spikes, 0, length);
    }

    @Benchmark
    public int scalar() {
        return ScalarKernels.int8Dot(codes, 0, spikes, 0, length);
    }
}
