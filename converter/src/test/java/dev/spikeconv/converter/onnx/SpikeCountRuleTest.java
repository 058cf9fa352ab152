package dev.spikeconv.converter.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtException;
import dev.spikeconv.converter.spiking.SpikeArithmetic;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The spike-count rule, in the graph ({@link SpikeCountNodes}) and in Java ({@link SpikeArithmetic}), on hostile rows:
 * values exactly on .5 edges, denormals, all zeros, values past ±T, sums whose float32 order would matter. Both engines
 * must give the same thresholds and counts bit for bit.
 */
class SpikeCountRuleTest {
    private static final int TIME_STEPS = 127;

    /** Runs rows {@code [tokens, width]} through the dynamic rule with divisor {@code k}: thresholds {@code [tokens]}, counts {@code [tokens * width]}. */
    private static Map<String, float[]> dynamicInGraph(float[][] rows, float k) throws IOException, OrtException {
        int width = rows[0].length;
        ModelProto model = GraphRuns.build(graph -> {
            graph.input("a", TensorProto.DataType.FLOAT, "tokens", width);
            String threshold = SpikeCountNodes.dynamicThreshold(graph, "a", width, k);
            graph.addNode("Identity", new String[] {threshold}, new String[] {"threshold"});
            graph.addNode("Identity", new String[] {SpikeCountNodes.counts(graph, "a", threshold, TIME_STEPS)}, new String[] {"counts"});
            graph.output("threshold", TensorProto.DataType.FLOAT, "tokens", 1);
            graph.output("counts", TensorProto.DataType.FLOAT, "tokens", width);
        });
        return GraphRuns.run(model, Map.of("a", new GraphRuns.FloatInput(flatten(rows), rows.length, width)));
    }

    private static void assertDynamicRuleAgrees(float[][] rows, float k) throws IOException, OrtException {
        Map<String, float[]> graph = dynamicInGraph(rows, k);
        int width = rows[0].length;
        for (int t = 0; t < rows.length; t++) {
            float theta = SpikeArithmetic.dynamicThreshold(rows[t], 0, width, k);
            assertThat(Float.floatToRawIntBits(graph.get("threshold")[t])).as("threshold of row %d: %s vs %s", t, graph.get("threshold")[t], theta)
                    .isEqualTo(Float.floatToRawIntBits(theta));
            for (int j = 0; j < width; j++) {
                float count = graph.get("counts")[t * width + j];
                assertThat(count == SpikeArithmetic.count(rows[t][j], theta, TIME_STEPS)).as("count [%d, %d] of %s / %s: %s", t, j, rows[t][j], theta, count)
                        .isTrue();
            }
        }
    }

    @Test
    void valuesExactlyOnHalfEdgesRoundToEvenInBothEngines() throws IOException, OrtException {
        // Σ|a| = 16 over 8 values, k = 2: θ = 1 exactly, so a / θ = a lies on the edges.
        float[][] rows = {{0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, -3.5f}};
        assertDynamicRuleAgrees(rows, 2);
        assertSameCounts(dynamicInGraph(rows, 2).get("counts"), 0, 2, 2, 4, 0, -2, -2, -4);
    }

    @Test
    void zerosDenormalsAndHugeValues() throws IOException, OrtException {
        float denormal = Float.MIN_VALUE * 3;
        float[][] rows = {
            new float[16],
            {denormal, -denormal, 0, denormal, 0, 0, 0, -Float.MIN_VALUE, 0, 0, 0, 0, 0, 0, 0, denormal},
            {1e30f, -1e30f, 1, -1, 1e-30f, 3e38f, -3e38f, 0, 2, 3, 4, 5, 6, 7, 8, 9},
            {1e-3f, 2e-4f, -3e-5f, 4e-6f, 5e-7f, 0, 0, 0, 1e-3f, 1e-3f, 1e-3f, 1e-3f, -1e-3f, 1e-3f, 1e-3f, 1e-3f},
        };
        assertDynamicRuleAgrees(rows, 3);
        float[] counts = dynamicInGraph(rows, 3).get("counts");
        assertSameCounts(Arrays.copyOfRange(counts, 0, 32), new float[32]);
        assertThat(counts[32 + 5]).isEqualTo(TIME_STEPS);
        assertThat(counts[32 + 6]).isEqualTo(-TIME_STEPS);
    }

    /**
     * Wide rows of values over many octaves: a float32 sum in two orders would differ in its last bits (and move counts
     * near edges); the float64 sum of the rule does not.
     */
    @Test
    void wideRowsGiveTheSameThresholdsWhateverTheSummationOrder() throws IOException, OrtException {
        Random random = new Random(17);
        float[][] rows = new float[64][4096];
        for (float[] row : rows) {
            for (int j = 0; j < row.length; j++) {
                row[j] = (float) (random.nextGaussian() * Math.pow(2, random.nextInt(24) - 12));
            }
        }
        assertDynamicRuleAgrees(rows, 3);
        assertDynamicRuleAgrees(rows, 0.37f);
    }

    @Test
    void staticThresholdsOnEdgesPerSiteAndPerChannel() throws IOException, OrtException {
        float[] values = {0.125f, 0.375f, -0.625f, 31.875f, 31.625f, -32f, 100f, -0f};
        float[] channelThresholds = {0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.5f, 0.125f};
        ModelProto model = GraphRuns.build(graph -> {
            graph.input("a", TensorProto.DataType.FLOAT, 1, values.length);
            graph.input("theta", TensorProto.DataType.FLOAT, (long) values.length);
            graph.addNode("Identity", new String[] {SpikeCountNodes.counts(graph, "a", "theta", TIME_STEPS)}, new String[] {"counts"});
            graph.output("counts", TensorProto.DataType.FLOAT, 1, values.length);
        });
        float[] counts = GraphRuns.run(model, Map.of("a", new GraphRuns.FloatInput(values, 1, values.length),
                "theta", new GraphRuns.FloatInput(channelThresholds, channelThresholds.length))).get("counts");
        for (int j = 0; j < values.length; j++) {
            assertThat(counts[j] == SpikeArithmetic.count(values[j], channelThresholds[j], TIME_STEPS)).as("count %d: %s", j, counts[j]).isTrue();
        }
        assertSameCounts(counts, 0, 2, -2, 127, 126, -127, 127, 0);
    }

    /** Numerically equal, so that a count of -0 (ONNX's Round(-0.5)) equals 0. */
    private static void assertSameCounts(float[] actual, float... expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i] == expected[i]).as("count %d: %s, expected %s", i, actual[i], expected[i]).isTrue();
        }
    }

    private static float[] flatten(float[][] rows) {
        float[] flat = new float[rows.length * rows[0].length];
        for (int t = 0; t < rows.length; t++) {
            System.arraycopy(rows[t], 0, flat, t * rows[0].length, rows[0].length);
        }
        return flat;
    }
}
