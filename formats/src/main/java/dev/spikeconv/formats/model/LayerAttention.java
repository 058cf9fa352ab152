package dev.spikeconv.formats.model;

/**
 * The attention of one layer. {@code window} counts the keys visible to a query including itself
 * (flash-attn's {@code (W, 0)} means W + 1 keys); {@code sinks} leading positions stay visible too.
 * Both are 0 unless the kind is windowed ({@link AttentionKind#windowed}).
 */
public record LayerAttention(AttentionKind kind, int window, int sinks) {
    public LayerAttention {
        if (kind.windowed()) {
            if (window <= 0 || sinks < 0) {
                throw new IllegalArgumentException(kind.id() + " attention needs window > 0 and sinks >= 0, found " + window + "+" + sinks);
            }
        }
        else if (window != 0 || sinks != 0) {
            throw new IllegalArgumentException(kind.id() + " attention has no window");
        }
    }

    public static LayerAttention softmax() {
        return new LayerAttention(AttentionKind.SOFTMAX, 0, 0);
    }

    public static LayerAttention gatedLinear() {
        return new LayerAttention(AttentionKind.GATED_LINEAR, 0, 0);
    }

    public static LayerAttention slidingWindow(int window, int sinks) {
        return new LayerAttention(AttentionKind.SLIDING_WINDOW, window, sinks);
    }

    public static LayerAttention hybrid(int window, int sinks) {
        return new LayerAttention(AttentionKind.HYBRID, window, sinks);
    }

    @Override
    public String toString() {
        if (!kind.windowed()) {
            return kind.id();
        }
        return sinks == 0 ? kind.id() + "/" + window : kind.id() + "/" + window + "+" + sinks;
    }
}
