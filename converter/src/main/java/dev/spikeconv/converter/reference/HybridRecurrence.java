package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.kernels.VectorKernels;
import java.util.Arrays;

/**
 * One key/value head of a hybrid layer, token by token (docs/design.md §4): before query t the key leaving its window,
 * {@code t - window} when it is not a sink, is folded into the state {@code U = Σ φ(k)[v, 1]}; the query then weighs its
 * window's keys by {@code e^{s - c}} and the older ones through {@code β ψ U}, with {@code ψ = φ(q) e^{-c}}, and divides
 * by the sum of all weights. q and k are rotated; {@code c} is the largest score in the window. Without older keys, or
 * with β = 0, the arithmetic is the reference's sliding window's, to the bit.
 */
public final class HybridRecurrence {
    private HybridRecurrence() {}

    /**
     * A hybrid layer's feature map: directions {@code Ω [m, d]} and biases {@code b [m]}, half the log importance weight of
     * each direction (0 when the directions are standard normal).
     */
    public record Features(float[] directions, float[] biases) {
        public int count() {
            return biases.length;
        }
    }

    /**
     * {@code φ(x) e^{-shift}}: {@code exp(Ω x̃ - |x̃|²/2 + b - shift) / √m} for {@code x̃ = x / d^¼}; products of two such
     * feature vectors estimate {@code e^{q·k/√d}}.
     */
    public static void features(Features map, float[] x, int offset, int d, float shift, float[] into) {
        int m = into.length;
        float[] directions = map.directions();
        float[] biases = map.biases();
        float root = (float) Math.pow(d, -0.25);
        float squares = 0;
        for (int i = 0; i < d; i++) {
            float scaled = x[offset + i] * root;
            squares += scaled * scaled;
        }
        float normalizer = (float) (1 / Math.sqrt(m));
        for (int f = 0; f < m; f++) {
            float projected = VectorKernels.dot(directions, f * d, x, offset, d) * root;
            into[f] = (float) Math.exp(projected - squares / 2 + biases[f] - shift) * normalizer;
        }
    }

    /**
     * Runs key/value head {@code keyHead} over {@code count} new tokens at {@code position}: {@code queries} rotated
     * {@code [count, heads·d]}, the cache's rotated keys and values of every position so far {@code [positions, kvHeads·d]},
     * {@code state} {@code [m, d + 1]} (updated); writes its query heads' rows of {@code output} {@code [count, heads·d]}.
     * {@code scales} holds each query head's β.
     */
    public static void run(float[] queries, float[] keys, float[] values, int position, int count, int heads, int keyValueHeads, int d, int keyHead,
            int window, int sinks, Features map, float[] scales, float[] state, float[] output) {
        int group = heads / keyValueHeads;
        int width = keyValueHeads * d;
        int m = map.count();
        int stateWidth = d + 1;
        float scale = (float) (1 / Math.sqrt(d));
        float[] feature = new float[m];
        float[] scores = new float[window + sinks];
        int[] positions = new int[window + sinks];
        float[] linear = new float[stateWidth];
        for (int t = 0; t < count; t++) {
            int query = position + t;
            int leaving = query - window;
            if (leaving >= sinks) {
                int keyOffset = leaving * width + keyHead * d;
                features(map, keys, keyOffset, d, 0, feature);
                for (int f = 0; f < m; f++) {
                    VectorKernels.addScaled(state, f * stateWidth, feature[f], values, keyOffset, d);
                    state[f * stateWidth + d] += feature[f];
                }
            }
            int seen = 0;
            for (int key = 0; key < Math.min(sinks, query + 1); key++) {
                positions[seen++] = key;
            }
            for (int key = Math.max(sinks, query - window + 1); key <= query; key++) {
                positions[seen++] = key;
            }
            for (int member = 0; member < group; member++) {
                int head = keyHead * group + member;
                int queryOffset = (t * heads + head) * d;
                float maximum = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < seen; i++) {
                    scores[i] = VectorKernels.dot(queries, queryOffset, keys, positions[i] * width + keyHead * d, d) * scale;
                    maximum = Math.max(maximum, scores[i]);
                }
                float sum = 0;
                for (int i = 0; i < seen; i++) {
                    scores[i] = (float) Math.exp(scores[i] - maximum);
                    sum += scores[i];
                }
                // The older keys' weighted values and weights; none while no key has left the window or β is 0, and then
                // the arithmetic is the sliding window's to the bit.
                Arrays.fill(linear, 0f);
                float beta = scales[head];
                if (beta != 0 && leaving >= sinks) {
                    features(map, queries, queryOffset, d, maximum, feature);
                    for (int f = 0; f < m; f++) {
                        VectorKernels.addScaled(linear, 0, beta * feature[f], state, f * stateWidth, stateWidth);
                    }
                }
                float total = sum + linear[d];
                for (int j = 0; j < d; j++) {
                    output[queryOffset + j] = linear[j] / total;
                }
                for (int i = 0; i < seen; i++) {
                    float weight = scores[i] / total;
                    if (weight != 0) {
                        VectorKernels.addScaled(output, queryOffset, weight, values, positions[i] * width + keyHead * d, d);
                    }
                }
            }
        }
    }
}
