package dev.spikeconv.converter.reference;

/**
 * What a GLA layer's recurrence consumes for a run of tokens: {@code q = ReLU(q_proj x)/sqrt(d)}
 * {@code [count, heads·d]}, {@code k = ReLU(k_proj x)} and {@code v = v_proj x} {@code [count, kvHeads·d]},
 * and the per-channel decays {@code α = exp(logsigmoid(W_g1 W_g0 x + b)/normalizer)} {@code [count, kvHeads·d]}.
 */
public record GatedLinearInputs(float[] queries, float[] keys, float[] values, float[] decays, int count) {}
