package dev.spikeconv.converter.reference;

/** A linear layer of the reference engine: {@code [tokens, inputs]} in, {@code [tokens, outputs]} out. */
interface Projection {
    float[] apply(float[] input, int tokens);

    /** The same with {@code hooks} at a spiking projection (forced counts, observed activations); others ignore them. */
    default float[] apply(float[] input, int tokens, SpikingSiteHooks hooks) {
        return apply(input, tokens);
    }

    int outputs();

    int inputs();
}
