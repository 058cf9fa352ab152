package dev.spikeconv.converter.reference;

/** A linear layer of the reference engine: {@code [tokens, inputs]} in, {@code [tokens, outputs]} out. */
interface Projection {
    float[] apply(float[] input, int tokens);

    int outputs();

    int inputs();
}
