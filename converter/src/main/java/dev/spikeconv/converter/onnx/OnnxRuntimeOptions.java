package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.InvalidOptionException;

/**
 * How ONNX Runtime runs: intra-op threads (default 2; spinning always off), and up to how many bytes of float weights
 * the session may make of a graph's int8 weights. Within {@code foldLimitBytes} their DequantizeLinear nodes are folded
 * into float constants when the session loads (fastest GEMMs and decode; 4 bytes per weight, about 7 while loading);
 * beyond it the codes stay int8 in memory and are dequantized on every run (1 byte per weight, decode much slower).
 */
public record OnnxRuntimeOptions(int threads, long foldLimitBytes) {
    /** 2 GiB of floats: int8 models up to about half a billion weights run on folded floats. */
    public static final long DEFAULT_FOLD_LIMIT = 2L << 30;
    public static final OnnxRuntimeOptions DEFAULT = new OnnxRuntimeOptions(2, DEFAULT_FOLD_LIMIT);

    public OnnxRuntimeOptions {
        if (threads < 1) {
            throw new InvalidOptionException("threads", "must be at least 1, found " + threads);
        }
        if (foldLimitBytes < 0) {
            throw new InvalidOptionException("fold-limit", "must not be negative, found " + foldLimitBytes);
        }
    }

    public OnnxRuntimeOptions(int threads) {
        this(threads, DEFAULT_FOLD_LIMIT);
    }

    /** The same with int8 weights never folded: they stay int8 whatever the model's size. */
    public OnnxRuntimeOptions keepingInt8() {
        return new OnnxRuntimeOptions(threads, 0);
    }

    /** Whether a graph with {@code int8Weights} int8 weight values gets them folded into floats. */
    public boolean folds(long int8Weights) {
        return int8Weights * Float.BYTES <= foldLimitBytes;
    }
}
