package dev.spikeconv.converter.execution;

/** One sequence being run: tokens go in, logits for each new position come out; earlier tokens are cached. */
public interface InferenceSession extends AutoCloseable {
    /** Appends {@code tokens} after those already seen and returns their logits, {@code [tokens.length][vocab]}. */
    float[][] forward(int[] tokens);

    /** Tokens seen so far. */
    int position();

    @Override
    void close();
}
