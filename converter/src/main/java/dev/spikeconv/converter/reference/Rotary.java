package dev.spikeconv.converter.reference;

/**
 * Rotate-half RoPE in place: dimension {@code i} and {@code i + d/2} of each head are rotated by
 * {@code position * inverseFrequency[i]}.
 */
final class Rotary {
    private Rotary() {}

    static void apply(float[] vectors, int tokens, int heads, int headDimension, int firstPosition, float[] inverseFrequencies) {
        int half = headDimension / 2;
        for (int t = 0; t < tokens; t++) {
            float position = firstPosition + t;
            for (int i = 0; i < half; i++) {
                float angle = position * inverseFrequencies[i];
                float cos = (float) Math.cos(angle);
                float sin = (float) Math.sin(angle);
                for (int head = 0; head < heads; head++) {
                    int offset = (t * heads + head) * headDimension;
                    float first = vectors[offset + i];
                    float second = vectors[offset + i + half];
                    vectors[offset + i] = first * cos - second * sin;
                    vectors[offset + i + half] = second * cos + first * sin;
                }
            }
        }
    }
}
