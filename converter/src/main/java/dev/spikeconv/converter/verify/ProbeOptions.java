package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.InvalidOptionException;
import java.util.List;
import java.util.Set;

/**
 * Which retrieval probes verify runs, at which distances (empty: {@link RetrievalProbes#DEFAULT_DISTANCES} that fit the
 * model's positions), with how many trials per distance. Off by default: the probes cost about
 * {@code trials × Σ distances} tokens per model and kind.
 */
public record ProbeOptions(Set<ProbeKind> kinds, List<Integer> distances, int trials) {
    public static final ProbeOptions NONE = new ProbeOptions(Set.of(), List.of(), 1);

    public ProbeOptions {
        kinds = Set.copyOf(kinds);
        distances = List.copyOf(distances);
        if (trials < 1) {
            throw new InvalidOptionException("probe-trials", "must be at least 1, found " + trials);
        }
        for (int distance : distances) {
            if (distance < RetrievalProbes.SHORTEST_DISTANCE) {
                throw new InvalidOptionException("probe-distances", "must be at least " + RetrievalProbes.SHORTEST_DISTANCE + " tokens, found " + distance);
            }
        }
    }

    public boolean any() {
        return !kinds.isEmpty();
    }
}
