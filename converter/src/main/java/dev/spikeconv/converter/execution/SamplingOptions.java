package dev.spikeconv.converter.execution;

import dev.spikeconv.converter.InvalidOptionException;

/**
 * How the next token is chosen: temperature 0 is greedy (argmax); otherwise softmax at the given
 * temperature, restricted to the smallest set of tokens whose probability reaches {@code topP}.
 */
public record SamplingOptions(float temperature, float topP, long seed) {
    public SamplingOptions {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new InvalidOptionException("temperature", "must be a finite number >= 0, found " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new InvalidOptionException("top-p", "must be in (0, 1], found " + topP);
        }
    }

    public static SamplingOptions greedy() {
        return new SamplingOptions(0, 1, 0);
    }
}
