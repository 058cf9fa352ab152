package dev.spikeconv.converter.reference;

import java.util.Arrays;

/** Keys and values of every position so far for one layer, {@code [positions, kvHeads * headDim]}, growing as needed. */
final class KeyValueCache {
    private final int width;
    private float[] keys = new float[0];
    private float[] values = new float[0];
    private int length;

    KeyValueCache(int width) {
        this.width = width;
    }

    void append(float[] newKeys, float[] newValues, int count) {
        int needed = (length + count) * width;
        if (needed > keys.length) {
            int capacity = Math.max(needed, keys.length * 2);
            keys = Arrays.copyOf(keys, capacity);
            values = Arrays.copyOf(values, capacity);
        }
        System.arraycopy(newKeys, 0, keys, length * width, count * width);
        System.arraycopy(newValues, 0, values, length * width, count * width);
        length += count;
    }

    float[] keys() {
        return keys;
    }

    float[] values() {
        return values;
    }
}
