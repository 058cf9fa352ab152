package dev.spikeconv.converter.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The hybrid recurrence against the layer's definition evaluated directly over every key (docs/design.md §4): window keys
 * weighted {@code e^{s - c}}, older non-sink keys {@code β e^{-c} φ(q)·φ(k)} (with random biases), one division. Run in one call and in a
 * prefill followed by single-token calls, so the state's hand-over between calls is checked too.
 */
class HybridRecurrenceTest {
    private static final int HEADS = 4;
    private static final int KEY_VALUE_HEADS = 2;
    private static final int D = 4;
    private static final int FEATURES = 64;
    private static final int TOKENS = 40;

    @ParameterizedTest(name = "window {0}, sinks {1}, first call {2} tokens")
    @CsvSource({"6, 1, 40", "6, 1, 25", "6, 0, 9", "1, 2, 17", "45, 1, 40"})
    void theRecurrenceIsTheDefinition(int window, int sinks, int firstCall) {
        SplittableRandom random = new SplittableRandom(window * 31L + sinks);
        float[] queries = gaussian(random, TOKENS * HEADS * D, 1);
        float[] keys = gaussian(random, TOKENS * KEY_VALUE_HEADS * D, 1);
        float[] values = gaussian(random, TOKENS * KEY_VALUE_HEADS * D, 1);
        HybridRecurrence.Features features = new HybridRecurrence.Features(gaussian(random, FEATURES * D, 1), gaussian(random, FEATURES, 0.5));
        float[] scales = new float[HEADS];
        for (int head = 0; head < HEADS; head++) {
            scales[head] = head == 0 ? 0 : (float) random.nextDouble(0.25, 4);
        }
        float[] output = new float[TOKENS * HEADS * D];
        for (int keyHead = 0; keyHead < KEY_VALUE_HEADS; keyHead++) {
            float[] state = new float[FEATURES * (D + 1)];
            int position = 0;
            while (position < TOKENS) {
                int count = position == 0 ? firstCall : 1;
                float[] callQueries = java.util.Arrays.copyOfRange(queries, position * HEADS * D, (position + count) * HEADS * D);
                float[] callOutput = new float[count * HEADS * D];
                HybridRecurrence.run(callQueries, keys, values, position, count, HEADS, KEY_VALUE_HEADS, D, keyHead, window, sinks, features, scales, state,
                        callOutput);
                for (int t = 0; t < count; t++) {
                    for (int member = 0; member < HEADS / KEY_VALUE_HEADS; member++) {
                        int offset = (t * HEADS + keyHead * HEADS / KEY_VALUE_HEADS + member) * D;
                        System.arraycopy(callOutput, offset, output, position * HEADS * D + offset, D);
                    }
                }
                position += count;
            }
        }
        for (int t = 0; t < TOKENS; t++) {
            for (int head = 0; head < HEADS; head++) {
                double[] expected = definition(queries, keys, values, features, scales[head], t, head, window, sinks);
                for (int j = 0; j < D; j++) {
                    assertThat((double) output[(t * HEADS + head) * D + j]).as("token %d head %d", t, head).isCloseTo(expected[j], within(2e-5));
                }
            }
        }
    }

    /** The layer's output for one query and head, in double precision, every key visited directly. */
    private static double[] definition(float[] queries, float[] keys, float[] values, HybridRecurrence.Features features, double scale, int query, int head,
            int window, int sinks) {
        int keyHead = head / (HEADS / KEY_VALUE_HEADS);
        int width = KEY_VALUE_HEADS * D;
        int queryOffset = (query * HEADS + head) * D;
        double largest = Double.NEGATIVE_INFINITY;
        for (int key = 0; key <= query; key++) {
            if (inWindow(key, query, window, sinks)) {
                largest = Math.max(largest, score(queries, queryOffset, keys, key * width + keyHead * D));
            }
        }
        double[] weighted = new double[D];
        double total = 0;
        for (int key = 0; key <= query; key++) {
            int keyOffset = key * width + keyHead * D;
            double weight = inWindow(key, query, window, sinks) ? Math.exp(score(queries, queryOffset, keys, keyOffset) - largest)
                    : scale * Math.exp(-largest) * featureProduct(queries, queryOffset, keys, keyOffset, features);
            total += weight;
            for (int j = 0; j < D; j++) {
                weighted[j] += weight * values[keyOffset + j];
            }
        }
        for (int j = 0; j < D; j++) {
            weighted[j] /= total;
        }
        return weighted;
    }

    private static boolean inWindow(int key, int query, int window, int sinks) {
        return key > query - window || key < sinks;
    }

    private static double score(float[] queries, int queryOffset, float[] keys, int keyOffset) {
        double dot = 0;
        for (int i = 0; i < D; i++) {
            dot += (double) queries[queryOffset + i] * keys[keyOffset + i];
        }
        return dot / Math.sqrt(D);
    }

    /** {@code φ(q̃)·φ(k̃)} with {@code φ(x̃) = exp(Ω x̃ - |x̃|²/2 + b) / √m}, {@code x̃ = x / d^¼}. */
    private static double featureProduct(float[] queries, int queryOffset, float[] keys, int keyOffset, HybridRecurrence.Features features) {
        float[] directions = features.directions();
        double root = Math.pow(D, -0.25);
        double querySquares = 0;
        double keySquares = 0;
        for (int i = 0; i < D; i++) {
            querySquares += Math.pow(queries[queryOffset + i] * root, 2);
            keySquares += Math.pow(keys[keyOffset + i] * root, 2);
        }
        double product = 0;
        for (int f = 0; f < FEATURES; f++) {
            double queryProjection = 0;
            double keyProjection = 0;
            for (int i = 0; i < D; i++) {
                queryProjection += directions[f * D + i] * queries[queryOffset + i] * root;
                keyProjection += directions[f * D + i] * keys[keyOffset + i] * root;
            }
            double bias = features.biases()[f];
            product += Math.exp(queryProjection - querySquares / 2 + bias) * Math.exp(keyProjection - keySquares / 2 + bias) / FEATURES;
        }
        return product;
    }

    private static float[] gaussian(SplittableRandom random, int length, double deviation) {
        float[] values = new float[length];
        for (int i = 0; i < length; i++) {
            values[i] = (float) (random.nextGaussian() * deviation);
        }
        return values;
    }
}
