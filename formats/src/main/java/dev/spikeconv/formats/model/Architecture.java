package dev.spikeconv.formats.model;

/** Model families spikeconv understands; each maps onto the same pre-norm decoder description. */
public enum Architecture {
    LLAMA("llama"),
    MISTRAL("mistral"),
    QWEN2("qwen2"),
    QWEN3("qwen3"),
    /** SpikingBrain's hybrid of gated linear and sliding-window attention, as spikeconv bundles are. */
    GLA_SWA("gla_swa");

    private final String id;

    Architecture(String id) {
        this.id = id;
    }

    /** The name used in config files and JSON output. */
    public String id() {
        return id;
    }
}
