package dev.spikeconv.formats.model;

import java.util.List;
import java.util.Locale;

/**
 * How projection inputs become integer spike counts (docs/design.md §4): off (float activations), dynamic
 * ({@code θ = clamp(mean|a| / k, 1e-5, 1e4)} per token) or static (calibrated integer thresholds),
 * counts clamped to ±{@code timeSteps}. The coding only decides how counts are sent as spikes.
 * {@code exclude} lists site suffixes (e.g. {@code mlp.down_proj}) that stay in float.
 */
public record SpikeSettings(Mode mode, double k, int timeSteps, Coding coding, List<String> exclude) {
    public static final int MAX_TIME_STEPS = 127;
    public static final SpikeSettings OFF = new SpikeSettings(Mode.OFF, 3, MAX_TIME_STEPS, Coding.TERNARY, List.of());

    public enum Mode {
        OFF,
        DYNAMIC,
        STATIC;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Spike trains for a count s: binary {0,1} (s >= 0 only), ternary {-1,0,1} (|s| steps), bitwise (ceil(log2(|s|+1)) steps). */
    public enum Coding {
        BINARY,
        TERNARY,
        BITWISE;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public SpikeSettings {
        exclude = List.copyOf(exclude);
        if (!(k > 0) || Double.isInfinite(k)) {
            throw new IllegalArgumentException("k must be a positive number, found " + k);
        }
        if (timeSteps < 1 || timeSteps > MAX_TIME_STEPS) {
            throw new IllegalArgumentException("time steps must be in [1, " + MAX_TIME_STEPS + "], found " + timeSteps);
        }
    }

    public boolean spiking() {
        return mode != Mode.OFF;
    }

    /** Whether the projection at {@code site} (e.g. {@code model.layers.0.self_attn.q_proj}) spikes. */
    public boolean spikes(String site) {
        return spiking() && exclude.stream().noneMatch(site::endsWith);
    }
}
