package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import java.nio.file.Path;

/**
 * What to verify and how: the bundle; the dense reference as a checkpoint or as logits saved by an
 * earlier run; the evaluation data (text, or token ids); how many tokens to skip (e.g. those calibration
 * used) and to evaluate, in sequences of what length;
 * how many tokens the Java engine checks; and where to save the reference for later runs.
 */
public record VerifyOptions(
        Path bundle,
        Path reference,
        Path referenceRecording,
        Path data,
        Path tokenizer,
        int skipTokens,
        int tokens,
        int sequenceLength,
        int engineTokens,
        Goals goals,
        OnnxRuntimeOptions runtime,
        Path saveReference) {
    public VerifyOptions {
        if ((reference == null) == (referenceRecording == null)) {
            throw new IllegalArgumentException("give exactly one of --reference SOURCE and --reference-logits FILE");
        }
        if (tokens < 2 || sequenceLength < 2) {
            throw new IllegalArgumentException("--tokens and --seq-len must be at least 2");
        }
        if (skipTokens < 0) {
            throw new IllegalArgumentException("--skip-tokens must be at least 0");
        }
        if (engineTokens < 1) {
            throw new IllegalArgumentException("--engine-tokens must be at least 1");
        }
    }
}
