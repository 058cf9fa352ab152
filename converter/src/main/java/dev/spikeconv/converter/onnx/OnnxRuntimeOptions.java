package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.InvalidOptionException;

/** How ONNX Runtime runs: intra-op threads (default 2; spinning always off). */
public record OnnxRuntimeOptions(int threads) {
    public static final OnnxRuntimeOptions DEFAULT = new OnnxRuntimeOptions(2);

    public OnnxRuntimeOptions {
        if (threads < 1) {
            throw new InvalidOptionException("threads", "must be at least 1, found " + threads);
        }
    }
}
