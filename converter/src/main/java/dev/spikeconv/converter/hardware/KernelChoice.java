package dev.spikeconv.converter.hardware;

/**
 * A kernel a target runs an op with: its id, the data layout it expects, the chunk it processes (GLA
 * prefill), and where it comes from ({@code library}, {@code composed} of standard ops, {@code host},
 * {@code device}).
 */
public record KernelChoice(String kernel, String layout, Integer chunk, String availability, String note) {}
