package dev.spikeconv.converter.reference;

/** A linear layer of the reference engine: {@code [tokens, inputs]} in, {@code [tokens, outputs]} out. */
interface Projection {
    float[] apply(float[] input, int tokens);

    /** The same with spike counts taken from {@code forced} where it has them (spiking projections only). */
    default float[] apply(float[] input, int tokens, SpikeCountSource forced) {
        return apply(input, tokens);
    }

    int outputs();

    int inputs();
}
