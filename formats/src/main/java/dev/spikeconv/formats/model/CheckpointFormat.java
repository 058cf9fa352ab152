package dev.spikeconv.formats.model;

/** The file format a model was read from. */
public enum CheckpointFormat {
    SAFETENSORS("safetensors"),
    PYTORCH("pytorch"),
    GGUF("gguf"),
    LLAMA2C("llama2c");

    private final String id;

    CheckpointFormat(String id) {
        this.id = id;
    }

    /** The name used in JSON output. */
    public String id() {
        return id;
    }
}
