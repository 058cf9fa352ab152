package dev.spikeconv.converter.hardware;

import dev.spikeconv.converter.layers.OpFamily;

/**
 * How a target runs one op family: kernels per phase for attention families (a single kernel for
 * the others, held as both), the dtype of recurrent state or KV cache, and the window convention.
 */
public record OpSupport(OpFamily family, KernelChoice prefill, KernelChoice decode, String stateDtype, String cacheDtype, String windowConvention) {}
