package dev.spikeconv.converter.layers;

/** The operator families a target must provide kernels for. */
public enum OpFamily {
    GLA("gla", true),
    SWA("swa", true),
    SOFTMAX("softmax", true),
    INT8_SPIKE_GEMM("int8_spike_gemm", false),
    INT8_GEMM("int8_gemm", false),
    FLOAT_GEMM("float_gemm", false),
    RMS_NORM("rms_norm", false),
    ROPE("rope", false),
    EMBEDDING("embedding", false),
    HEAD("head", false);

    private final String id;
    private final boolean phased;

    OpFamily(String id, boolean phased) {
        this.id = id;
        this.phased = phased;
    }

    public String id() {
        return id;
    }

    /** Whether the family has separate prefill and decode kernels (the attention families). */
    public boolean phased() {
        return phased;
    }

    public static OpFamily fromId(String id) {
        for (OpFamily family : values()) {
            if (family.id.equals(id)) {
                return family;
            }
        }
        return null;
    }
}
