package dev.spikeconv.converter.calibration;

import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.converter.transfer.AttentionTransfer;
import dev.spikeconv.formats.model.ModelConfig;

/**
 * The Java heap calibrate's layer-by-layer pass needs at most, from the model's shapes and the tokens: the residual
 * streams (in memory up to their limit, beyond it in a file), one layer's working set for one sequence, and, with
 * attention transfer, a layer's targets, the readout's normal equations and solve, and the fitted tensors.
 */
public final class CalibrationMemory {
    /** Histograms, the reports and everything small. */
    private static final long SLACK = 24L << 20;

    private CalibrationMemory() {}

    /** {@code lengths}: tokens per sequence; {@code fittedLayers}: GLA layers transfer fits (0 without transfer). */
    public static long passBytes(ModelConfig config, int[] lengths, int fittedLayers, long storedOutputProjectionBytes) {
        long tokens = 0;
        int longest = 0;
        for (int length : lengths) {
            tokens += length;
            longest = Math.max(longest, length);
        }
        int hidden = config.hiddenSize();
        long streamBytes = Math.min(tokens * hidden * Float.BYTES, CalibrationPass.STREAM_MEMORY_LIMIT) + 2L * longest * hidden * Float.BYTES;
        long bytes = SLACK + ReferenceModel.layerBytes(config, longest);
        if (fittedLayers == 0) {
            return bytes + streamBytes;
        }
        long features = (long) config.headCount() * config.headDimension();
        long keyValues = (long) config.keyValueHeadCount() * config.headDimension();
        long targets = tokens * (hidden + features) * Float.BYTES;
        long scoringTokens = Math.min(tokens, AttentionTransfer.STEP_ONE_SCORING_TOKENS + longest);
        long decayInputs = scoringTokens * (features + 3 * keyValues) * Float.BYTES;
        // Normal equations and their solve: Gram and cross sums, the system and right-hand sides, one block's float products.
        long readout = (2 * features * features + 2 * features * hidden) * Double.BYTES + features * Math.max(features, hidden) * Float.BYTES
                + tokens * features * Float.BYTES + hidden * features * Float.BYTES;
        return bytes + 2 * streamBytes + targets + Math.max(decayInputs, readout) + fittedLayers * storedOutputProjectionBytes;
    }
}
