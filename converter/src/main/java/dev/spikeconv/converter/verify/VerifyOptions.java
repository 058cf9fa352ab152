package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import java.nio.file.Path;

/**
 * What to verify and how: the bundle; the dense reference as a checkpoint or as logits saved by an
 * earlier run; the evaluation data (text, or token ids); how many tokens to skip (e.g. those calibration
 * used) and to evaluate, in sequences of what length;
 * how many tokens the Java engine checks; where to save the reference for later runs; whether a reference that is
 * not the bundle's recorded source is allowed; what a bundle with GLA layers is compared with besides the dense model; and
 * which synthetic retrieval probes run ({@link ProbeOptions#NONE} for none); whether to measure each layer's KL alone
 * ({@link LayerAttribution}).
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
        Path saveReference,
        boolean allowOtherReference,
        VerifyBaseline baseline,
        ProbeOptions probes,
        boolean layerKl) {
    public VerifyOptions {
        java.util.Objects.requireNonNull(baseline, "baseline");
        java.util.Objects.requireNonNull(probes, "probes");
        if (probes.any() && reference == null) {
            throw new InvalidOptionException("probes", "the probes run the dense model first: give the reference checkpoint, not saved reference logits");
        }
        if (layerKl && reference == null) {
            throw new InvalidOptionException("layer-kl", "runs the dense model with one bundle layer at a time: give the reference checkpoint, not saved "
                    + "reference logits");
        }
        if (baseline == VerifyBaseline.ALL_SWA && reference == null) {
            throw new InvalidOptionException("baseline", "all-swa runs the dense model's attention in place of the GLA layers: give the reference "
                    + "checkpoint, not saved reference logits");
        }
        if ((reference == null) == (referenceRecording == null)) {
            throw new InvalidOptionException("reference", "give exactly one of a reference checkpoint and saved reference logits (reference-logits)");
        }
        if (tokens < 2) {
            throw new InvalidOptionException("tokens", "must be at least 2, found " + tokens);
        }
        if (sequenceLength < 2) {
            throw new InvalidOptionException("seq-len", "must be at least 2, found " + sequenceLength);
        }
        if (skipTokens < 0) {
            throw new InvalidOptionException("skip-tokens", "must be at least 0, found " + skipTokens);
        }
        if (engineTokens < 1) {
            throw new InvalidOptionException("engine-tokens", "must be at least 1, found " + engineTokens);
        }
    }
}
