package dev.spikeconv.converter.planner;

import dev.spikeconv.converter.InvalidOptionException;

/** What {@code spikeconv plan} may spend: a number of GLA layers, a per-sequence cache bound, or a quality target. */
public sealed interface PlanBudget {
    /** Exactly {@code count} converted layers (GLA, or the kinds plan may choose among), the rest sliding-window. */
    record ConvertedLayers(int count) implements PlanBudget {
        public ConvertedLayers {
            if (count < 1) {
                throw new InvalidOptionException("gla", "must be at least 1, found " + count);
            }
        }
    }

    /** Conversions until the plan keeps one sequence's caches and states within {@code bytes} at the plan's context (the cheapest in KL first). */
    record MaxCache(long bytes) implements PlanBudget {
        public MaxCache {
            if (bytes < 1) {
                throw new InvalidOptionException("max-cache", "must be positive, found " + bytes);
            }
        }
    }

    /** As many GLA layers as keep the mean KL to the dense model within {@code meanKullbackLeibler}: the smallest cache that meets it. */
    record MaxDivergence(double meanKullbackLeibler) implements PlanBudget {
        public MaxDivergence {
            if (!(meanKullbackLeibler > 0) || Double.isInfinite(meanKullbackLeibler)) {
                throw new InvalidOptionException("max-kl", "must be a positive number, found " + meanKullbackLeibler);
            }
        }
    }
}
