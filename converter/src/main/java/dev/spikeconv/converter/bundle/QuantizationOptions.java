package dev.spikeconv.converter.bundle;

import dev.spikeconv.converter.InvalidOptionException;

/**
 * Weight quantization of a conversion: int8 for every projection (or none), per output row
 * ({@code group == 0}) or per input group of {@code group} values (rows shorter than the group get one
 * scale), plus optionally the embeddings and the output head.
 */
public record QuantizationOptions(boolean enabled, int group, boolean embeddings, boolean head) {
    public static final int DEFAULT_GROUP = 128;
    public static final QuantizationOptions DEFAULT = new QuantizationOptions(true, DEFAULT_GROUP, false, false);
    public static final QuantizationOptions NONE = new QuantizationOptions(false, DEFAULT_GROUP, false, false);

    public QuantizationOptions {
        if (group < 0) {
            throw new InvalidOptionException("group", "must be 0 (per row) or positive, found " + group);
        }
        if (!enabled && (embeddings || head)) {
            throw new InvalidOptionException("quant", "none leaves every weight as stored: quantizing embeddings or the head needs int8");
        }
    }

    /** The group size for rows of {@code columns} values. */
    public int groupFor(int columns) {
        return group == 0 ? columns : Math.min(group, columns);
    }
}
