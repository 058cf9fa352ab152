package dev.spikeconv.converter.hardware;

import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.OpFamily;
import dev.spikeconv.formats.model.ModelConfig;

/**
 * Memory a model needs on a target: weights once, and per sequence the GLA state (constant), the
 * sliding-window caches (at most sinks + window keys) and the softmax caches (growing with the context).
 */
public record TargetMemory(long weightBytes, long stateBytesPerSequence, long windowCacheBytesPerSequence, long fullCacheBytesPerSequence,
        int batch, int context) {
    public static TargetMemory of(ModelFootprint model, TargetProfile target, ManifestOptions options) {
        ModelConfig config = model.config();
        long state = 0;
        long window = 0;
        long full = 0;
        for (ModelFootprint.LayerNeeds layer : model.layers()) {
            // Each kind of memory is kept by one family's kernels, whatever the layer: a recurrent state by GLA's, a windowed cache
            // by SWA's, a growing cache by softmax's (a hybrid layer has a state and a windowed cache).
            LayerKind.SequenceMemory memory = layer.kind().sequenceMemory(config, options.context());
            state += memory.stateValues() * dtypeBytes(target, OpFamily.GLA, true);
            window += memory.windowCacheValues() * dtypeBytes(target, OpFamily.SWA, false);
            full += memory.growingCacheValues() * dtypeBytes(target, OpFamily.SOFTMAX, false);
        }
        return new TargetMemory(model.weightBytes(), state, window, full, options.batch(), options.context());
    }

    private static int dtypeBytes(TargetProfile target, OpFamily family, boolean state) {
        OpSupport support = target.ops().get(family);
        String dtype = support == null ? null : state ? support.stateDtype() : support.cacheDtype();
        if (dtype == null) {
            return 4;
        }
        return switch (dtype) {
            case "float16", "bfloat16", "int16" -> 2;
            case "int8", "float8" -> 1;
            default -> 4;
        };
    }

    public long totalBytes() {
        return weightBytes + batch * (stateBytesPerSequence + windowCacheBytesPerSequence + fullCacheBytesPerSequence);
    }
}
