package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.kernels.VectorKernels;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeArithmetic;

/**
 * A projection fed with integer spike counts {@code s = clamp(round(a / θ), ±T)}, θ dynamic per token
 * or static per site: {@code y_i = θ · Σ_G σ[i,G] · Σ_{j∈G} Wq[i,j] s_j + b_i} in exact integer
 * arithmetic per group, or {@code y = θ · W s + b} when the weights are float. With a threshold per
 * input channel θ multiplies inside, {@code y = W (θ ⊙ s) + b}, over the dequantized weights.
 */
final class SpikingProjection implements Projection {
    private final String site;
    private final Int8Weights int8Weights;
    private final float[] floatWeights;
    private final float[] bias;
    private final int outputs;
    private final int inputs;
    private final SiteThreshold threshold;
    private final float[] channelThresholds;
    private final float staticThreshold;
    private final int timeSteps;

    SpikingProjection(String site, Int8Weights weights, float[] bias, SiteThreshold threshold, int timeSteps) {
        this(site, weights, null, bias, weights.outputs(), weights.inputs(), threshold, timeSteps);
    }

    SpikingProjection(String site, float[] weights, float[] bias, int outputs, int inputs, SiteThreshold threshold, int timeSteps) {
        this(site, null, weights, bias, outputs, inputs, threshold, timeSteps);
    }

    private SpikingProjection(String site, Int8Weights int8Weights, float[] floatWeights, float[] bias, int outputs, int inputs, SiteThreshold threshold,
            int timeSteps) {
        this.site = site;
        this.threshold = threshold;
        this.channelThresholds = threshold instanceof SiteThreshold.Static fixed && fixed.perChannel() ? fixed.thresholds() : null;
        this.staticThreshold = threshold instanceof SiteThreshold.Static fixed ? fixed.thresholds()[0] : 0;
        if (channelThresholds != null && channelThresholds.length != inputs) {
            throw new IllegalArgumentException("a projection of " + inputs + " inputs got " + channelThresholds.length + " channel thresholds");
        }
        // Per-channel thresholds leave the integer domain: the weights are used dequantized, as the ONNX graph does.
        this.int8Weights = channelThresholds == null ? int8Weights : null;
        this.floatWeights = channelThresholds != null && int8Weights != null ? int8Weights.dequantized() : floatWeights;
        this.bias = bias;
        this.outputs = outputs;
        this.inputs = inputs;
        this.timeSteps = timeSteps;
    }

    @Override
    public float[] apply(float[] input, int tokens) {
        return apply(input, tokens, SpikeCountSource.NONE);
    }

    @Override
    public float[] apply(float[] input, int tokens, SpikeCountSource forced) {
        float[][] forcedCounts = forced.counts(site);
        if (forcedCounts != null && forcedCounts.length != tokens) {
            throw new IllegalArgumentException(site + ": " + forcedCounts.length + " rows of forced spike counts for " + tokens + " tokens");
        }
        float[] output = new float[tokens * outputs];
        int[] counts = new int[inputs];
        byte[] spikes = new byte[inputs];
        float[] scaled = channelThresholds == null ? null : new float[inputs];
        for (int token = 0; token < tokens; token++) {
            int offset = token * inputs;
            float theta = switch (threshold) {
                case SiteThreshold.Dynamic dynamic -> SpikeArithmetic.dynamicThreshold(input, offset, inputs, dynamic.k());
                case SiteThreshold.Static fixed -> staticThreshold;
            };
            for (int j = 0; j < inputs; j++) {
                float channelTheta = channelThresholds == null ? theta : channelThresholds[j];
                counts[j] = forcedCounts != null ? (int) forcedCounts[token][j] : SpikeArithmetic.count(input[offset + j], channelTheta, timeSteps);
                spikes[j] = (byte) counts[j];
            }
            if (channelThresholds != null) {
                // θ differs along the reduction: y = W (θ ⊙ s), over the dequantized weights.
                for (int j = 0; j < inputs; j++) {
                    scaled[j] = counts[j] * channelThresholds[j];
                }
                for (int row = 0; row < outputs; row++) {
                    output[token * outputs + row] = VectorKernels.dot(floatWeights, row * inputs, scaled, 0, inputs);
                }
                continue;
            }
            for (int row = 0; row < outputs; row++) {
                float accumulated = int8Weights != null ? integerRow(row, spikes) : floatRow(row, counts);
                output[token * outputs + row] = theta * accumulated;
            }
        }
        Biases.add(output, tokens, bias);
        return output;
    }

    /** {@code Σ_G σ[row,G] · Σ_{j∈G} Wq[row,j] s_j}, each group's sum exact in int32 (counts fit in int8: T ≤ 127). */
    private float integerRow(int row, byte[] spikes) {
        int group = int8Weights.group();
        int groups = int8Weights.groups();
        byte[] codes = int8Weights.codes();
        float accumulated = 0;
        for (int index = 0; index < groups; index++) {
            int start = index * group;
            int sum = VectorKernels.int8Dot(codes, row * inputs + start, spikes, start, Math.min(inputs, start + group) - start);
            accumulated += int8Weights.scales()[row * groups + index] * sum;
        }
        return accumulated;
    }

    private float floatRow(int row, int[] counts) {
        float accumulated = 0;
        for (int j = 0; j < inputs; j++) {
            accumulated += floatWeights[row * inputs + j] * counts[j];
        }
        return accumulated;
    }

    @Override
    public int outputs() {
        return outputs;
    }

    @Override
    public int inputs() {
        return inputs;
    }
}
