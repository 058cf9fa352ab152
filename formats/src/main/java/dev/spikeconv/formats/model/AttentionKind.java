package dev.spikeconv.formats.model;

/**
 * How a layer mixes tokens, as configs and bundles name it, with what the formats must know of it: whether its queries
 * and keys are rotated (RoPE), whether it keeps a window of keys, and whether it has GLA's decay gate and head norm
 * tensors. What a kind means to conversion and execution lives in the converter's {@code layers} package.
 */
public enum AttentionKind {
    /** Causal softmax attention over every earlier token. */
    SOFTMAX("softmax", true, false, false),
    /** Softmax attention over the most recent keys (and optional sink positions). */
    SLIDING_WINDOW("swa", true, true, false),
    /** Gated linear attention with a recurrent state (SpikingBrain's GLA). */
    GATED_LINEAR("gla", false, false, true),
    /**
     * spikeconv's hybrid: per head, softmax over the sinks and the last keys of a window (with RoPE) beside gated linear
     * attention over every key (without), both read out by one {@code o_proj} over their concatenated outputs. SpikingBrain's
     * loaders do not know it.
     */
    HYBRID("hybrid", true, true, true);

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

    /** {@code o_proj} reads two branches, the windowed softmax heads then the GLA heads: twice the heads' width. */
    public boolean concatenatesBranches() {
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
