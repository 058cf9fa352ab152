package dev.spikeconv.converter.bundle;

import dev.spikeconv.converter.plan.LayerPlan;
import dev.spikeconv.converter.hardware.ManifestOptions;
import dev.spikeconv.converter.hardware.TargetProfile;
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

    public ConversionOptions {
        targets = List.copyOf(targets);
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("--max-shard-size must be positive, found " + maxShardBytes);
        }
        if (spike.coding() == SpikeSettings.Coding.BINARY && spike.spiking()) {
            throw new IllegalArgumentException("--coding binary sends only non-negative counts, but every projection input "
                    + "(normalized activations, attention outputs, SwiGLU products) is signed: use ternary or bitwise");
        }
        if (spike.mode() == SpikeSettings.Mode.STATIC) {
            throw new IllegalArgumentException("--spike static needs calibrated thresholds: convert with --spike dynamic, then run spikeconv calibrate");
        }
    }
}
