package dev.spikeconv.bench;

import dev.spikeconv.converter.InvalidOptionException;
import java.util.Locale;

/** The parts of {@code spikeconv bench}. */
public enum BenchSection {
    /** Conversion throughput and peak memory on a generated checkpoint. */
    CONVERT,
    /** Calibration and verification speed against a plain forward pass over the same tokens. */
    PASSES,
    /** Prefill and decode latency against context length, dense model and conversions. */
    CONTEXT,
    /** A generated 7B- or 1B-class checkpoint through convert, calibrate, verify, run and generate, each its own process. */
    SCALE;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static BenchSection parse(String text) {
        for (BenchSection section : values()) {
            if (section.id().equals(text.strip().toLowerCase(Locale.ROOT))) {
                return section;
            }
        }
        throw new InvalidOptionException("sections", "unknown bench section '" + text + "': use convert, passes, context or scale");
    }
}
