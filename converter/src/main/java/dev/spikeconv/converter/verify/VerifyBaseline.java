package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.InvalidOptionException;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * What verify runs beside a bundle with GLA layers, to say what those layers are worth: the bundle with their attention
 * left out (their MLPs still run), or with the dense model's attention over the bundle's smallest sliding window in
 * their place (all SWA), which says what they add beyond the window.
 */
public enum VerifyBaseline {
    WITHOUT_GLA_ATTENTION("no-gla-attention", "without GLA attention"),
    ALL_SWA("all-swa", "all SWA");

    private final String id;
    private final String description;

    VerifyBaseline(String id, String description) {
        this.id = id;
        this.description = description;
    }

    /** The option value. */
    public String id() {
        return id;
    }

    /** How reports name it. */
    public String description() {
        return description;
    }

    public static VerifyBaseline parse(String id) {
        return Arrays.stream(values()).filter(baseline -> baseline.id.equals(id)).findFirst().orElseThrow(() -> new InvalidOptionException("baseline",
                "'" + id + "' is not a baseline; expected " + Arrays.stream(values()).map(VerifyBaseline::id).collect(Collectors.joining(" or "))));
    }
}
