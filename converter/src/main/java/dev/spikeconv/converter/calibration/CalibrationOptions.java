package dev.spikeconv.converter.calibration;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.hardware.TargetProfile;
import dev.spikeconv.converter.transfer.TransferOptions;
import java.nio.file.Path;
import java.util.List;

/**
 * What calibrate does to a bundle.
 *
 * @param data            text (tokenized with the bundle's tokenizer, or {@code tokenizer}) or token ids
 * @param tokens          calibration tokens, from the start of {@code data}, in a fixed order
 * @param sequenceLength  tokens per sequence
 * @param seed            chooses the held-out sequences of attention transfer
 * @param method          how thresholds are chosen
 * @param targetSparsity  share of silent spike slots to reach (null: none)
 * @param maxError        largest relative reconstruction error {@code Σ(a-θs)²/Σa²} (null: none)
 * @param target          hardware target whose threshold bits bound static thresholds and whose energy table is used (null: none)
 * @param reference       the dense model the bundle came from: attention transfer's target (null: no transfer)
 * @param checkpoint      the layer-by-layer pass's checkpoint, resumed when it matches (null: beside the bundle)
 * @param checkpointEvery layers between checkpoints
 * @param merge           statistics files of earlier runs to add
 * @param saveStatistics  where to keep this run's statistics for a later {@code merge} (null: not kept)
 * @param statisticsOnly  gather and save the statistics, leave the bundle as it is
 * @param allowOtherReference fit to a reference that is not the bundle's recorded source (refused otherwise)
 */
public record CalibrationOptions(
        Path bundle,
        Path data,
        Path tokenizer,
        int tokens,
        int sequenceLength,
        long seed,
        ThresholdMethod method,
        Double targetSparsity,
        Double maxError,
        TargetProfile target,
        Path reference,
        TransferOptions transfer,
        Path checkpoint,
        int checkpointEvery,
        List<Path> merge,
        Path saveStatistics,
        boolean statisticsOnly,
        boolean allowOtherReference) {
    /** Threshold integers' width without a target: the neuromorphic profile's 16 bits. */
    public static final int DEFAULT_THRESHOLD_BITS = 16;

    public CalibrationOptions {
        merge = List.copyOf(merge);
        if (tokens < 2) {
            throw new InvalidOptionException("tokens", "must be at least 2, found " + tokens);
        }
        if (sequenceLength < 2) {
            throw new InvalidOptionException("seq-len", "must be at least 2, found " + sequenceLength);
        }
        if (checkpointEvery < 1) {
            throw new InvalidOptionException("checkpoint-every", "must be at least 1, found " + checkpointEvery);
        }
        if (targetSparsity != null && !(targetSparsity >= 0 && targetSparsity < 1)) {
            throw new InvalidOptionException("target-sparsity", "must be in [0, 1), found " + targetSparsity);
        }
        if (maxError != null && !(maxError > 0 && maxError < 1)) {
            throw new InvalidOptionException("max-error", "must be in (0, 1), found " + maxError);
        }
        if (statisticsOnly && saveStatistics == null) {
            throw new InvalidOptionException("statistics-only", "needs a file to save the statistics to (save-statistics)");
        }
        if (statisticsOnly && transfer.enabled()) {
            throw new InvalidOptionException("statistics-only", "gathers threshold statistics of the bundle as it is: attention transfer must be none");
        }
        if (method.kind() == ThresholdMethod.Kind.KEEP && (targetSparsity != null || maxError != null)) {
            throw new InvalidOptionException("method", "keep leaves thresholds as they are: a target sparsity or error budget does not apply");
        }
        if (method.kind() == ThresholdMethod.Kind.DYNAMIC && (targetSparsity == null) == (maxError == null)) {
            throw new InvalidOptionException("method", "dynamic calibrates k per site for exactly one of a target sparsity and an error budget");
        }
    }

    public int thresholdBits() {
        return target == null ? DEFAULT_THRESHOLD_BITS : Math.min(24, target.constraints().thresholdBits());
    }

    /** The checkpoint file: as given, or {@code <bundle>.calibrate-checkpoint} beside the bundle. */
    public Path checkpointFile() {
        if (checkpoint != null) {
            return checkpoint;
        }
        Path absolute = bundle.toAbsolutePath().normalize();
        return absolute.resolveSibling(absolute.getFileName() + ".calibrate-checkpoint");
    }
}
