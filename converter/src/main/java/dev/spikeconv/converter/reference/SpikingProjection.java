package dev.spikeconv.converter.reference;

import dev.spikeconv.formats.model.SpikeSettings;

/**
 * A projection fed with integer spike counts: {@code s = clamp(round(a / θ), ±T)} per token with a
 * dynamic threshold, then {@code y_i = θ · Σ_G σ[i,G] · Σ_{j∈G} Wq[i,j] s_j + b_i} in exact integer
 * arithmetic per group, or {@code y = θ · W s + b} when the weights are float.
 */
final class SpikingProjection implements Projection {
    private final Int8Weights int8Weights;
    private final float[] floatWeights;
    private final float[] bias;
    private final int outputs;
    private final int inputs;
    private final float k;
    private final int timeSteps;

    SpikingProjection(Int8Weights weights, float[] bias, SpikeSettings settings) {
        this(weights, null, bias, weights.outputs(), weights.inputs(), settings);
    }

    SpikingProjection(float[] weights, float[] bias, int outputs, int inputs, SpikeSettings settings) {
        this(null, weights, bias, outputs, inputs, settings);
    }

    private SpikingProjection(Int8Weights int8Weights, float[] floatWeights, float[] bias, int outputs, int inputs, SpikeSettings settings) {
        if (settings.mode() != SpikeSettings.Mode.DYNAMIC) {
            throw new UnsupportedOperationException("the reference engine runs dynamic thresholds; found " + settings.mode().id());
        }
        this.int8Weights = int8Weights;
        this.floatWeights = floatWeights;
        this.bias = bias;
        this.outputs = outputs;
        this.inputs = inputs;
        this.k = Spiking.k(settings);
        this.timeSteps = settings.timeSteps();
    }

    @Override
    public float[] apply(float[] input, int tokens) {
        float[] output = new float[tokens * outputs];
        int[] counts = new int[inputs];
        for (int token = 0; token < tokens; token++) {
            int offset = token * inputs;
            float threshold = Spiking.dynamicThreshold(input, offset, inputs, k);
            for (int j = 0; j < inputs; j++) {
                counts[j] = Spiking.count(input[offset + j], threshold, timeSteps);
            }
            for (int row = 0; row < outputs; row++) {
                float accumulated = int8Weights != null ? integerRow(row, counts) : floatRow(row, counts);
                output[token * outputs + row] = threshold * accumulated;
            }
        }
        Spiking.addBias(output, tokens, bias);
        return output;
    }

    private float integerRow(int row, int[] counts) {
        int group = int8Weights.group();
        int groups = int8Weights.groups();
        byte[] codes = int8Weights.codes();
        float accumulated = 0;
        for (int index = 0; index < groups; index++) {
            int sum = 0;
            int end = Math.min(inputs, (index + 1) * group);
            for (int j = index * group; j < end; j++) {
                sum += codes[row * inputs + j] * counts[j];
            }
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
