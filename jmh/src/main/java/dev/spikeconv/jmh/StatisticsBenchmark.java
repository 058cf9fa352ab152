package dev.spikeconv.jmh;

import dev.spikeconv.converter.calibration.MagnitudeHistogram;
import dev.spikeconv.converter.metrics.Divergence;
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

/**
 * What calibrate and verify compute in Java for every activation and logit: the magnitude histogram of calibration,
 * and the log-sum-exp and KL divergence of verify, each vector form against its scalar definition.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class StatisticsBenchmark {
    /** One token's activations or logits. */
    @Param({"4096"})
    public int length;

    private float[] activations;
    private float[] reference;
    private float[] candidate;
    private double referenceLogSum;
    private double candidateLogSum;
    private MagnitudeHistogram histogram;

    @Setup
    public void setUp() {
        SplittableRandom random = new SplittableRandom(4);
        activations = new float[length];
        reference = new float[length];
        candidate = new float[length];
        for (int i = 0; i < length; i++) {
            activations[i] = (float) (random.nextGaussian() * (1 + i % 7));
            reference[i] = (float) (random.nextGaussian() * 3);
            candidate[i] = reference[i] + (float) random.nextGaussian();
        }
        referenceLogSum = Divergence.logSumExp(reference);
        candidateLogSum = Divergence.logSumExp(candidate);
        histogram = new MagnitudeHistogram();
    }

    @Benchmark
    public long histogramVector() {
        histogram.add(activations, 0, length);
        return histogram.total();
    }

    @Benchmark
    public long histogramScalar() {
        for (float activation : activations) {
            histogram.add(activation);
        }
        return histogram.total();
    }

    @Benchmark
    public double logSumExpVector() {
        return Divergence.logSumExp(reference);
    }

    @Benchmark
    public double logSumExpScalar() {
        return Divergence.logSumExpScalar(reference);
    }

    @Benchmark
    public double kullbackLeiblerVector() {
        return Divergence.kullbackLeibler(reference, referenceLogSum, candidate, candidateLogSum);
    }

    @Benchmark
    public double kullbackLeiblerScalar() {
        return Divergence.kullbackLeiblerScalar(reference, referenceLogSum, candidate, candidateLogSum);
    }
}
