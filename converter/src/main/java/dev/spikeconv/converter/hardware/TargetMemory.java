package dev.spikeconv.converter.hardware;

import dev.spikeconv.formats.model.ModelConfig;

/**
 * Memory a model needs on a target: weights once, and per sequence the GLA state (constant), the
 * sliding-window caches (at most sinks + window keys) and the softmax caches (growing with the context).
 */
public record TargetMemory(long weightBytes, long stateBytesPerSequence, long windowCacheBytesPerSequence, long fullCacheBytesPerSequence,
        int batch, int context) {
    public static TargetMemory of(ModelFootprint model, TargetProfile target, ManifestOptions options) {
        ModelConfig config = model.config();
        long kvWidth = (long) config.keyValueHeadCount() * config.headDimension();
        long state = 0;
        long window = 0;
        long full = 0;
        for (ModelFootprint.LayerNeeds layer : model.layers()) {
            switch (layer.attention().kind()) {
                case GATED_LINEAR -> state += kvWidth * config.headDimension() * dtypeBytes(target, OpFamily.GLA, true);
                case SLIDING_WINDOW -> window += 2 * kvWidth * Math.min(options.context(), (long) layer.attention().window() + layer.attention().sinks())
                        * dtypeBytes(target, OpFamily.SWA, false);
                case SOFTMAX -> full += 2 * kvWidth * options.context() * dtypeBytes(target, OpFamily.SOFTMAX, false);
            }
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
