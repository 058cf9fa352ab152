package dev.spikeconv.converter.hardware;

import dev.spikeconv.converter.layers.OpFamily;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.SpikeSettings;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a model against a target's constraints. Each violation names the constraint, the layer where
 * there is one, and the numbers, e.g. {@code head_dim_multiple: layer 2 (gla) has head_dim 12, not a
 * multiple of 8}.
 */
public final class TargetConstraints {
    private TargetConstraints() {}

    public static List<String> violations(ModelFootprint model, TargetProfile target, ManifestOptions options) {
        List<String> violations = new ArrayList<>();
        ModelConfig config = model.config();
        TargetProfile.Constraints constraints = target.constraints();
        for (OpFamily family : model.families()) {
            if (!target.supports(family)) {
                String where = model.layers().stream()
                        .filter(layer -> layer.attentionFamilies().contains(family) || layer.projections().stream().anyMatch(p -> p.family() == family))
                        .map(layer -> "layer " + layer.index()).findFirst().orElse("the model");
                violations.add("op_family: " + where + " needs " + family.id() + ", which the target has no kernel for");
            }
        }
        for (ModelFootprint.LayerNeeds layer : model.layers()) {
            if (config.headDimension() % constraints.headDimensionMultiple() != 0) {
                violations.add("head_dim_multiple: layer " + layer.index() + " (" + layer.kind() + ") has head_dim "
                        + config.headDimension() + ", not a multiple of " + constraints.headDimensionMultiple());
                break;
            }
        }
        for (ModelFootprint.LayerNeeds layer : model.layers()) {
            for (ModelFootprint.Projection projection : layer.projections()) {
                if (projection.bits() == 8 && projection.inputs() % constraints.weightRowMultiple() != 0) {
                    violations.add("weight_row_multiple: layer " + layer.index() + " " + projection.name() + " has " + projection.inputs()
                            + " inputs, not a multiple of " + constraints.weightRowMultiple());
                }
                if (constraints.maxFanIn() != null && projection.spiking() && projection.inputs() > constraints.maxFanIn()) {
                    violations.add("max_fan_in: layer " + layer.index() + " " + projection.name() + " has " + projection.inputs()
                            + " inputs per neuron, above " + constraints.maxFanIn());
                }
                TargetProfile.Memory memory = target.memory();
                if (memory.neuronsPerCore() != null && memory.cores() != null && projection.spiking()
                        && projection.outputs() > (long) memory.neuronsPerCore() * memory.cores()) {
                    violations.add("neurons: layer " + layer.index() + " " + projection.name() + " needs " + projection.outputs() + " neurons, above "
                            + memory.cores() + " cores x " + memory.neuronsPerCore());
                }
            }
        }
        SpikeSettings spike = config.spike();
        if (spike.spiking()) {
            if (model.timeSteps() > constraints.maxTimeSteps()) {
                violations.add("max_time_steps: " + spike.coding().id() + " coding of counts up to " + spike.timeSteps() + " takes " + model.timeSteps()
                        + " time steps per window, above " + constraints.maxTimeSteps());
            }
            if (!constraints.thresholdModes().contains(spike.mode().id())) {
                violations.add("threshold_modes: the model uses " + spike.mode().id() + " thresholds; the target supports " + constraints.thresholdModes());
            }
            long bitsNeeded = 64 - Long.numberOfLeadingZeros(model.maxStaticThreshold());
            if (spike.mode() == SpikeSettings.Mode.STATIC && bitsNeeded > constraints.thresholdBits()) {
                violations.add("threshold_bits: a static threshold of " + model.maxStaticThreshold() + " needs " + bitsNeeded + " bits, above "
                        + constraints.thresholdBits());
            }
        }
        long total = TargetMemory.of(model, target, options).totalBytes();
        if (total > target.memory().capacityBytes()) {
            violations.add("memory: " + total + " bytes (weights " + model.weightBytes() + " + state and caches for batch " + options.batch()
                    + " at context " + options.context() + ") exceed the target's " + target.memory().capacityBytes());
        }
        TargetProfile.Memory memory = target.memory();
        if (memory.perCoreBytes() != null) {
            for (ModelFootprint.LayerNeeds layer : model.layers()) {
                for (ModelFootprint.Projection projection : layer.projections()) {
                    if (projection.spiking() && projection.bytes() > memory.perCoreBytes() * memory.cores()) {
                        violations.add("synapse_memory: layer " + layer.index() + " " + projection.name() + " needs " + projection.bytes()
                                + " bytes of synapses, above " + memory.cores() + " cores x " + memory.perCoreBytes());
                    }
                }
            }
        }
        if (model.layers().stream().anyMatch(layer -> layer.attentionFamilies().contains(OpFamily.SWA)) && target.supports(OpFamily.SWA)
                && target.ops().get(OpFamily.SWA).windowConvention() == null) {
            violations.add("window_convention: the target's swa kernels do not state their window convention");
        }
        return violations;
    }
}
