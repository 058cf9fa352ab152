package dev.spikeconv.converter.execution;

import dev.spikeconv.converter.InvalidOptionException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.IntConsumer;

/** Autoregressive generation on any engine: prefill the prompt, then one token at a time until a stop token or the limit. */
public final class TextGenerator {
    /** The generated ids and how long each phase took. */
    public record Generation(int[] promptIds, int[] generatedIds, long prefillNanos, long decodeNanos, boolean stoppedByToken) {
        public double prefillTokensPerSecond() {
            return promptIds.length / Math.max(1e-9, prefillNanos / 1e9);
        }

        /** Decode speed over the tokens fed back (the last generated token is never fed). */
        public double decodeTokensPerSecond() {
            int fed = Math.max(0, generatedIds.length - 1);
            return fed / Math.max(1e-9, decodeNanos / 1e9);
        }
    }

    private final InferenceEngine engine;

    public TextGenerator(InferenceEngine engine) {
        this.engine = engine;
    }

    /**
     * Generates up to {@code maxTokens} after {@code promptIds}, stopping early at {@code eos} or
     * {@code bos} (llama2.c models mark the end of a story with BOS); {@code onToken} sees each id as it is chosen.
     */
    public Generation generate(int[] promptIds, int maxTokens, SamplingOptions sampling, OptionalInt bos, OptionalInt eos, IntConsumer onToken) {
        if (promptIds.length == 0) {
            throw new InvalidOptionException("prompt", "must hold at least one token: the tokenizer has no BOS token, so the prompt must not be empty");
        }
        Sampler sampler = new Sampler(sampling);
        List<Integer> generated = new ArrayList<>();
        boolean stopped = false;
        long decodeNanos = 0;
        try (InferenceSession session = engine.newSession()) {
            long start = System.nanoTime();
            float[][] logits = session.forward(promptIds);
            long prefillNanos = System.nanoTime() - start;
            float[] last = logits[logits.length - 1];
            while (generated.size() < maxTokens) {
                int next = sampler.next(last);
                if ((eos.isPresent() && next == eos.getAsInt()) || (bos.isPresent() && next == bos.getAsInt())) {
                    stopped = true;
                    break;
                }
                generated.add(next);
                onToken.accept(next);
                if (generated.size() == maxTokens) {
                    break;
                }
                long stepStart = System.nanoTime();
                last = session.forward(new int[] {next})[0];
                decodeNanos += System.nanoTime() - stepStart;
            }
            return new Generation(promptIds.clone(), generated.stream().mapToInt(Integer::intValue).toArray(), prefillNanos, decodeNanos, stopped);
        }
    }
}
