package dev.spikeconv.converter.transfer;

import dev.spikeconv.converter.InvalidOptionException;

/**
 * Which attention-transfer steps run and how the calibration tokens are split.
 *
 * @param fitDecay     step 1: a decay per key/value head by grid search, scored by least squares
 * @param fitReadout   step 2: a ridge readout from the GLA heads to the dense attention output, folded into o_proj (+ bias)
 * @param adamSteps    step 3: Adam steps per layer on the gate and the q/k projections (0: none), then the readout is fitted again
 * @param learningRate Adam's step size
 * @param heldOutShare share of the calibration sequences held out to pick the ridge penalty and report errors
 * @param seed         chooses the held-out sequences
 */
public record TransferOptions(boolean fitDecay, boolean fitReadout, int adamSteps, double learningRate, double heldOutShare, long seed) {
    public static final double DEFAULT_LEARNING_RATE = 1e-3;
    public static final TransferOptions DEFAULT = new TransferOptions(true, true, 0, DEFAULT_LEARNING_RATE, 0.25, 0);
    public static final TransferOptions NONE = new TransferOptions(false, false, 0, DEFAULT_LEARNING_RATE, 0.25, 0);

    public TransferOptions {
        if (!(heldOutShare >= 0 && heldOutShare < 1)) {
            throw new InvalidOptionException("held-out", "must be in [0, 1), found " + heldOutShare);
        }
        if (adamSteps < 0) {
            throw new InvalidOptionException("adam-steps", "must be at least 0, found " + adamSteps);
        }
        if (adamSteps > 0 && !fitReadout) {
            throw new InvalidOptionException("adam-steps", "train against the fitted readout: they need the readout step (transfer full or readout)");
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new InvalidOptionException("learning-rate", "must be positive, found " + learningRate);
        }
    }

    public boolean enabled() {
        return fitDecay || fitReadout || adamSteps > 0;
    }
}
