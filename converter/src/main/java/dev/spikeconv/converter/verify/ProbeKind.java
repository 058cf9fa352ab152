package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.InvalidOptionException;
import java.util.Arrays;
import java.util.stream.Collectors;

/** A synthetic retrieval task of verify's probe suite ({@link RetrievalProbes}). */
public enum ProbeKind {
    /** A random key placed after a random cue, natural text, the cue again: the key is to be continued. */
    PASSKEY("passkey"),
    /** Pairs of random tokens, then earlier keys again: each key's value is to follow. */
    KEY_VALUE_RECALL("kv-recall");

    private final String id;

    ProbeKind(String id) {
        this.id = id;
    }

    /** The option value and the reports' name. */
    public String id() {
        return id;
    }

    public static ProbeKind parse(String id) {
        return Arrays.stream(values()).filter(kind -> kind.id.equals(id)).findFirst().orElseThrow(() -> new InvalidOptionException("probes",
                "'" + id + "' is not a probe; expected " + Arrays.stream(values()).map(ProbeKind::id).collect(Collectors.joining(" or "))));
    }
}
