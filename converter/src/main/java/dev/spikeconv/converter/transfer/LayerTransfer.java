package dev.spikeconv.converter.transfer;

/**
 * What transfer did to one GLA layer. Errors are {@code ||y - y_dense||² / ||y_dense||²} of the layer's
 * attention output on the held-out sequences, with the bundle's own int8 weights and spikes; step 1 or 2 not run
 * repeats the previous error. {@code errorAfterAdam} follows step 3 and a second readout fit (NaN when step 3 did not run).
 *
 * @param decays the fitted decay γ of every key channel, {@code [kvHeads·d]} (empty when step 1 did not run)
 * @param ridgePenalty the λ step 2 chose, relative to the mean feature variance (NaN when it did not run)
 */
public record LayerTransfer(int layer, double[] decays, double ridgePenalty, double errorBefore, double errorAfterDecay, double errorAfterReadout,
        double errorAfterAdam) {
    public LayerTransfer {
        decays = decays.clone();
    }

    @Override
    public double[] decays() {
        return decays.clone();
    }
}
