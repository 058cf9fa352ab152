package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeArithmetic;

/**
 * How far the spike counts of one site, as ONNX Runtime computed them, agree with the counts the Java rule gives for the
 * very same activations: the share of identical counts, and for the counts that differ, the largest distance of
 * {@code a / θ} from the rounding edge between the two counts, in counts. The rule is the same in both engines
 * (docs/design.md, "Spike counts"), so a difference can only come from the last bit of θ or of the division: a flip at
 * an edge (distance near 0) is arithmetic, a flip far from one (a wrong k, a wrong rounding mode) is a bug.
 *
 * @param site          the projection's module name
 * @param values        counts compared
 * @param identical     counts that are the same in both engines
 * @param largestEdgeDistance largest {@code |a/θ - (c_java + c_onnx) / 2|} over the counts that differ; 0 when none
 *                      does, infinite for a count that is not a number
 */
public record SpikeCountAgreement(String site, long values, long identical, double largestEdgeDistance) {
    public double identicalShare() {
        return values == 0 ? 1 : (double) identical / values;
    }

    /** Compares ONNX Runtime's {@code counts [tokens][in]} with the Java rule applied to the same {@code inputs}. */
    public static SpikeCountAgreement of(String site, SiteThreshold threshold, int timeSteps, float[][] inputs, float[][] counts) {
        float[] channelThresholds = threshold instanceof SiteThreshold.Static fixed ? fixed.thresholds() : null;
        boolean perChannel = channelThresholds != null && channelThresholds.length > 1;
        long values = 0;
        long identical = 0;
        double largest = 0;
        for (int token = 0; token < inputs.length; token++) {
            float[] row = inputs[token];
            float tokenThreshold = switch (threshold) {
                case SiteThreshold.Dynamic dynamic -> SpikeArithmetic.dynamicThreshold(row, 0, row.length, dynamic.k());
                case SiteThreshold.Static fixed -> channelThresholds[0];
            };
            for (int channel = 0; channel < row.length; channel++) {
                float theta = perChannel ? channelThresholds[channel] : tokenThreshold;
                int java = SpikeArithmetic.count(row[channel], theta, timeSteps);
                float onnx = counts[token][channel];
                values++;
                if (onnx == java) {
                    identical++;
                    continue;
                }
                double distance = Math.abs(row[channel] / theta - (java + (double) onnx) / 2);
                largest = Math.max(largest, Double.isNaN(distance) ? Double.POSITIVE_INFINITY : distance);
            }
        }
        return new SpikeCountAgreement(site, values, identical, largest);
    }
}
