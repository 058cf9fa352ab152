package dev.spikeconv.formats.model;

/**
 * How a layer mixes tokens, as configs and bundles name it, with what the formats must know of it: whether its queries
 * and keys are rotated (RoPE), whether it keeps a window of keys, whether it has GLA's decay gate and head norm tensors,
 * and whether it has a hybrid's feature map and linear scales. What a kind means to conversion and execution lives in the converter's {@code layers} package.
 */
public enum AttentionKind {
    /** Causal softmax attention over every earlier token. */
    SOFTMAX("softmax", true, false, false),
    /** Softmax attention over the most recent keys (and optional sink positions). */
    SLIDING_WINDOW("swa", true, true, false),
    /** Gated linear attention with a recurrent state (SpikingBrain's GLA). */
    GATED_LINEAR("gla", false, false, true),
    /**
     * spikeconv's hybrid: per head, exact softmax over the sinks and the last keys of a window, and linear attention with
     * random exponential features over the older keys, both under one normalizer (docs/design.md §4). SpikingBrain's loaders
     * do not know it.
     */
    HYBRID("hybrid", true, true, false);

    /** Random features a hybrid layer's linear branch maps each rotated query and key to. */
    public static final int HYBRID_FEATURES = 256;

    private final String id;
    private final boolean rotary;
    private final boolean windowed;
    private final boolean decayGate;

    AttentionKind(String id, boolean rotary, boolean windowed, boolean decayGate) {
        this.id = id;
        this.rotary = rotary;
        this.windowed = windowed;
        this.decayGate = decayGate;
    }

    /** The name used in config files and JSON output. */
    public String id() {
        return id;
    }

    /** Queries and keys are rotated by position (RoPE), so the head dimension must be even. */
    public boolean rotary() {
        return rotary;
    }

    /** A window of recent keys (and sinks) bounds what a query sees. */
    public boolean windowed() {
        return windowed;
    }

    /** The layer has GLA's decay gate ({@code gk_proj.0/1}) and per-head output norm ({@code g_norm}). */
    public boolean decayGate() {
        return decayGate;
    }

    /** The layer has a hybrid's random feature directions and biases ({@code feature_map}) and per-head linear scales ({@code linear_scale}). */
    public boolean linearFeatures() {
        return this == HYBRID;
    }

    public static AttentionKind fromId(String id) {
        for (AttentionKind kind : values()) {
            if (kind.id.equals(id)) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unknown attention kind '" + id + "'; expected one of "
                + java.util.Arrays.stream(values()).map(AttentionKind::id).toList());
    }
}
