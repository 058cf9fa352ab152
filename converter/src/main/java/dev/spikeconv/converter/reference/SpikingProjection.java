package dev.spikeconv.converter.reference;

import dev.spikeconv.converter.kernels.MatrixMultiply;
import dev.spikeconv.converter.kernels.WeightRows;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeArithmetic;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A projection fed with integer spike counts {@code s = clamp(round(a / θ), ±T)}, θ dynamic per token or static per site
 * (docs/design.md §4). With int8 weights: {@code y_i = θ · Σ_G σ[i,G] · Σ_{j∈G} Wq[i,j] s_j + b_i}, each group's sum exact (the
 * float products of integer counts and codes are summed in blocks of at most {@value #EXACT_BLOCK} inputs, each exact in
 * float32, and added in int32), the scaled groups added in group order; with float weights {@code y = θ · W s + b}. With
 * a threshold per input channel θ multiplies inside, {@code y = W (θ ⊙ s) + b}, over the dequantized weights.
 */
final class SpikingProjection implements Projection {
    /** Inputs per exact block: 127 · 127 · 1024 < 2^24, so a float32 sum of the products is exact. */
    static final int EXACT_BLOCK = 1024;
    private static final ValueLayout.OfFloat SCALE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String site;
    /** The weights the float product uses: values as stored, or int8 dequantized (per-channel thresholds). */
    private final WeightRows floatWeights;
    /** int8 codes for the exact integer product, or null. */
    private final WeightRows codes;
    private final MemorySegment scales;
    private final int group;
    private final int groups;
    /** Columns where exact blocks start: every group, and every {@value #EXACT_BLOCK} inputs within one. */
    private final int[] blockStarts;
    private final float[] bias;
    private final int outputs;
    private final int inputs;
    private final SiteThreshold threshold;
    private final float[] channelThresholds;
    private final float staticThreshold;
    private final int timeSteps;

    /** Over int8 weights: the exact integer product, unless thresholds per channel need the dequantized weights. */
    SpikingProjection(String site, ScaledInt8Tensor weights, float[] bias, SiteThreshold threshold, int timeSteps) {
        this(site, TensorRows.of(weights), weights, bias, threshold, timeSteps);
    }

    /** Over float weights. */
    SpikingProjection(String site, WeightRows weights, float[] bias, SiteThreshold threshold, int timeSteps) {
        this(site, weights, null, bias, threshold, timeSteps);
    }

    private SpikingProjection(String site, WeightRows floatWeights, ScaledInt8Tensor int8, float[] bias, SiteThreshold threshold, int timeSteps) {
        this.site = site;
        this.threshold = threshold;
        this.channelThresholds = threshold instanceof SiteThreshold.Static fixed && fixed.perChannel() ? fixed.thresholds() : null;
        this.staticThreshold = threshold instanceof SiteThreshold.Static fixed ? fixed.thresholds()[0] : 0;
        this.outputs = floatWeights.rows();
        this.inputs = floatWeights.columns();
        if (channelThresholds != null && channelThresholds.length != inputs) {
            throw new IllegalArgumentException("a projection of " + inputs + " inputs got " + channelThresholds.length + " channel thresholds");
        }
        this.floatWeights = floatWeights;
        // Per-channel thresholds leave the integer domain: the weights are used dequantized, as the ONNX graph does.
        boolean exact = int8 != null && channelThresholds == null;
        this.codes = exact ? TensorRows.codes(int8) : null;
        this.scales = exact ? int8.scales().data() : null;
        this.group = exact ? Math.min(int8.groupSize(), inputs) : inputs;
        this.groups = (inputs + group - 1) / group;
        this.blockStarts = blockStarts(inputs, group);
        this.bias = bias;
        this.timeSteps = timeSteps;
    }

    private static int[] blockStarts(int inputs, int group) {
        List<Integer> starts = new ArrayList<>();
        for (int groupStart = 0; groupStart < inputs; groupStart += group) {
            for (int start = groupStart; start < Math.min(inputs, groupStart + group); start += EXACT_BLOCK) {
                starts.add(start);
            }
        }
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public float[] apply(float[] input, int tokens) {
        return apply(input, tokens, SpikingSiteHooks.NONE);
    }

    @Override
    public float[] apply(float[] input, int tokens, SpikingSiteHooks hooks) {
        float[][] forcedCounts = hooks.forcedCounts(site);
        hooks.input(site, input, tokens, inputs);
        if (forcedCounts != null && forcedCounts.length != tokens) {
            throw new IllegalArgumentException(site + ": " + forcedCounts.length + " rows of forced spike counts for " + tokens + " tokens");
        }
        float[] counts = new float[tokens * inputs];
        float[] thetas = new float[tokens];
        for (int token = 0; token < tokens; token++) {
            int offset = token * inputs;
            float theta = switch (threshold) {
                case SiteThreshold.Dynamic dynamic -> SpikeArithmetic.dynamicThreshold(input, offset, inputs, dynamic.k());
                case SiteThreshold.Static fixed -> staticThreshold;
            };
            thetas[token] = theta;
            for (int j = 0; j < inputs; j++) {
                float channelTheta = channelThresholds == null ? theta : channelThresholds[j];
                int count = forcedCounts != null ? (int) forcedCounts[token][j] : SpikeArithmetic.count(input[offset + j], channelTheta, timeSteps);
                // θ differs along the reduction with thresholds per channel: y = W (θ ⊙ s).
                counts[offset + j] = channelThresholds == null ? count : count * channelThresholds[j];
            }
        }
        float[] output = new float[tokens * outputs];
        if (channelThresholds != null) {
            MatrixMultiply.multiply(counts, tokens, floatWeights, output);
        }
        else if (codes != null) {
            integerProduct(counts, tokens, output);
            scaleRows(output, tokens, thetas);
        }
        else {
            MatrixMultiply.multiply(counts, tokens, floatWeights, output);
            scaleRows(output, tokens, thetas);
        }
        Biases.add(output, tokens, bias);
        return output;
    }

    /** {@code output[t][i] = Σ_G σ[i,G] · Σ_{j∈G} Wq[i,j] s_j}: exact int32 sums per group, scaled and added in group order. */
    private void integerProduct(float[] counts, int tokens, float[] output) {
        int[] groupSums = new int[tokens * outputs];
        MatrixMultiply.multiplyInBlocks(counts, tokens, codes, blockStarts, (first, firstRow, rowCount, partial, width) -> {
            int groupIndex = first / group;
            boolean lastOfGroup = Math.min(inputs, first + EXACT_BLOCK) >= Math.min(inputs, (groupIndex + 1) * group);
            for (int token = 0; token < tokens; token++) {
                for (int r = 0; r < rowCount; r++) {
                    int at = token * outputs + firstRow + r;
                    groupSums[at] += (int) partial[token * width + r];
                    if (lastOfGroup) {
                        float scale = scales.get(SCALE, 4L * ((long) (firstRow + r) * groups + groupIndex));
                        output[at] += scale * groupSums[at];
                        groupSums[at] = 0;
                    }
                }
            }
        });
    }

    private void scaleRows(float[] output, int tokens, float[] thetas) {
        for (int token = 0; token < tokens; token++) {
            for (int row = 0; row < outputs; row++) {
                output[token * outputs + row] = thetas[token] * output[token * outputs + row];
            }
        }
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
