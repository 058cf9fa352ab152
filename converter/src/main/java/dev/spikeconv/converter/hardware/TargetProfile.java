package dev.spikeconv.converter.hardware;

import dev.spikeconv.converter.layers.OpFamily;
import java.util.List;
import java.util.Map;

/**
 * A hardware target (docs/design.md §6), as data: supported op families and their kernels, dtypes, memory,
 * the constraints a model must meet, kernel-library versions, and an energy table in picojoules.
 */
public record TargetProfile(
        String id,
        String name,
        String source,
        Map<String, String> kernelLibraries,
        List<String> dtypes,
        Memory memory,
        Constraints constraints,
        Map<OpFamily, OpSupport> ops,
        Energy energy,
        String sha256) {
    /** Bytes the target holds; per-core figures only for core arrays. */
    public record Memory(long capacityBytes, Integer cores, Long perCoreBytes, Integer neuronsPerCore) {}

    /**
     * @param headDimensionMultiple attention kernels' head-dim tile
     * @param weightRowMultiple     int8 GEMM input-width alignment
     * @param maxTimeSteps          spike time steps per window
     * @param thresholdBits         bits of a static integer threshold
     * @param thresholdModes        {@code dynamic} and/or {@code static}
     * @param maxFanIn              inputs per neuron, for event cores (null: unlimited)
     */
    public record Constraints(int headDimensionMultiple, int weightRowMultiple, int maxTimeSteps, int thresholdBits, List<String> thresholdModes,
            Integer maxFanIn) {}

    /** Energy per operation in picojoules. */
    public record Energy(double fp32Mac, double fp16Mac, double int8Mac, double int8Add, double int32Add, String source) {}

    public boolean supports(OpFamily family) {
        return ops.containsKey(family);
    }
}
