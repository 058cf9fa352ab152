package dev.spikeconv.converter.hardware;

import dev.spikeconv.converter.InvalidOptionException;

/** The serving point a manifest sizes memory and operations for: sequences in flight and context length. */
public record ManifestOptions(int batch, int context) {
    public static final ManifestOptions DEFAULT = new ManifestOptions(1, 4096);

    public ManifestOptions {
        if (batch < 1 || context < 1) {
            throw new InvalidOptionException(batch < 1 ? "batch" : "context", "must be at least 1, found " + (batch < 1 ? batch : context));
        }
    }
}
