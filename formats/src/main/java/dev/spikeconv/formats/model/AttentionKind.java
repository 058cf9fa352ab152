package dev.spikeconv.formats.model;

/** How a layer mixes tokens. */
public enum AttentionKind {
    /** Causal softmax attention over every earlier token. */
    SOFTMAX("softmax"),
    /** Softmax attention over the most recent keys (and optional sink positions). */
    SLIDING_WINDOW("swa"),
    /** Gated linear attention with a recurrent state (SpikingBrain's GLA). */
    GATED_LINEAR("gla");

    private final String id;

    AttentionKind(String id) {
        this.id = id;
    }

    /** The name used in config files and JSON output. */
    public String id() {
        return id;
    }

    public static AttentionKind fromId(String id) {
        for (AttentionKind kind : values()) {
            if (kind.id.equals(id)) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unknown attention kind '" + id + "'; expected softmax, swa or gla");
    }
}
