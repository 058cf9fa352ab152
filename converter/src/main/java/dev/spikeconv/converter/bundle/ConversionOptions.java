package dev.spikeconv.converter.bundle;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.hardware.ManifestOptions;
import dev.spikeconv.converter.hardware.TargetProfile;
import dev.spikeconv.converter.plan.LayerPlan;
import dev.spikeconv.formats.model.SpikeSettings;
import java.util.List;

/** Everything {@code spikeconv convert} decides, as plain values. */
public record ConversionOptions(
        LayerPlan plan,
        QuantizationOptions quantization,
        SpikeSettings spike,
        boolean w8aSpikeLayout,
        long maxShardBytes,
        boolean force,
        List<TargetProfile> targets,
        ManifestOptions manifestOptions) {
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    /** Without target manifests. */
    public ConversionOptions(LayerPlan plan, QuantizationOptions quantization, SpikeSettings spike, boolean w8aSpikeLayout, long maxShardBytes,
            boolean force) {
        this(plan, quantization, spike, w8aSpikeLayout, maxShardBytes, force, List.of(), ManifestOptions.DEFAULT);
    }

    /** Spike settings from the user's choices: k and T are checked here, so a wrong one is a usage error naming the option. */
    public static SpikeSettings spikeSettings(SpikeSettings.Mode mode, double k, int timeSteps, SpikeSettings.Coding coding, List<String> exclude) {
        if (!(k > 0) || Double.isInfinite(k)) {
            throw new InvalidOptionException("k", "must be a positive number, found " + k);
        }
        if (timeSteps < 1 || timeSteps > SpikeSettings.MAX_TIME_STEPS) {
            throw new InvalidOptionException("time-steps", "must be in [1, " + SpikeSettings.MAX_TIME_STEPS + "], found " + timeSteps);
        }
        return new SpikeSettings(mode, k, timeSteps, coding, exclude);
    }

    public ConversionOptions {
        targets = List.copyOf(targets);
        if (maxShardBytes <= 0) {
            throw new InvalidOptionException("max-shard-size", "must be positive, found " + maxShardBytes);
        }
        if (spike.coding() == SpikeSettings.Coding.BINARY && spike.spiking()) {
            throw new InvalidOptionException("coding", "binary sends only non-negative counts, but every projection input "
                    + "(normalized activations, attention outputs, SwiGLU products) is signed: use ternary or bitwise");
        }
        if (spike.mode() == SpikeSettings.Mode.STATIC) {
            throw new InvalidOptionException("spike", "static needs calibrated thresholds: convert with dynamic spikes, then calibrate");
        }
    }
}
