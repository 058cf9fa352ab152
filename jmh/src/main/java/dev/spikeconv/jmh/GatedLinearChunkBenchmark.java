package dev.spikeconv.jmh;

import dev.spikeconv.converter.reference.GatedLinearInputs;
import dev.spikeconv.converter.reference.GatedLinearRecurrence;
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

/** One GLA chunk of 64 tokens for one key/value head and its query heads, continuing a state: the reference recurrence. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GatedLinearChunkBenchmark {
    static final int CHUNK = 64;
    static final int HEADS = 4;
    static final int KEY_VALUE_HEADS = 1;

    @Param({"64"})
    public int headDimension;

    private GatedLinearInputs inputs;
    private float[] state;
    private float[] output;

    @Setup
    public void setUp() {
        SplittableRandom random = new SplittableRandom(3);
        int d = headDimension;
        float[] queries = new float[CHUNK * HEADS * d];
        float[] keys = new float[CHUNK * KEY_VALUE_HEADS * d];
        float[] values = new float[keys.length];
        float[] decays = new float[keys.length];
        for (int i = 0; i < queries.length; i++) {
            queries[i] = (float) Math.max(0, random.nextGaussian()) / (float) Math.sqrt(d);
        }
        for (int i = 0; i < keys.length; i++) {
            keys[i] = (float) Math.max(0, random.nextGaussian());
            values[i] = (float) random.nextGaussian();
            decays[i] = 0.97f;
        }
        inputs = new GatedLinearInputs(queries, keys, values, decays, CHUNK);
        state = new float[d * d];
        output = new float[CHUNK * HEADS * d];
    }

    @Benchmark
    public float[] chunk() {
        GatedLinearRecurrence.run(inputs, HEADS, KEY_VALUE_HEADS, headDimension, 0, state, output);
        return output;
    }
}
