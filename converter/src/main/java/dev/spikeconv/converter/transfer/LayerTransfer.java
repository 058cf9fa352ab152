package dev.spikeconv.converter.transfer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.SequencedMap;

/**
 * What transfer did to one GLA or hybrid layer. Errors are {@code ||y - y_dense||² / ||y_dense||²} of the layer's
 * attention output on the held-out sequences, with the bundle's own int8 weights and spikes; step 1 or 2 not run
 * repeats the previous error. {@code errorAfterAdam} follows step 3 and a second readout fit (NaN when step 3 did not run).
 *
 * @param decays a GLA layer's fitted decay γ of every key channel, {@code [kvHeads·d]} (empty when step 1 did not run, and for a hybrid)
 * @param linearScales a hybrid layer's fitted β of every query head (empty when step 1 did not run, and for GLA)
 * @param ridgePenalty the λ step 2 chose, relative to the mean feature variance (NaN when it did not run)
 * @param quantizationErrors per int8 tensor the fit rewrote (canonical name), {@code ‖w − ŵ‖ / ‖w‖} of its fitted values
 */
public record LayerTransfer(int layer, double[] decays, double[] linearScales, double ridgePenalty, double errorBefore, double errorAfterDecay, double errorAfterReadout,
        double errorAfterAdam, SequencedMap<String, Double> quantizationErrors) {
    public LayerTransfer {
        decays = decays.clone();
        linearScales = linearScales.clone();
        quantizationErrors = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(quantizationErrors));
    }

    @Override
    public double[] decays() {
        return decays.clone();
    }

    @Override
    public double[] linearScales() {
        return linearScales.clone();
    }
}
