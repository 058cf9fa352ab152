package dev.spikeconv.converter.layers;

import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.SplittableRandom;

/**
 * SpikingBrain's gated linear attention (docs/design.md §4): per key/value head a {@code [d, d]} state
 * {@code S_t = diag(α_t) S_{t-1} + k_tᵀ v_t}, read as {@code q_t S_t}, with a low-rank decay gate and a per-head output
 * norm. No RoPE; constant memory whatever the context.
 *
 * <p>Training-free starting values for the tensors it adds (calibrate fits them on data):
 * <ul>
 * <li>{@code gk_proj.1.bias}: a fixed decay per key/value head, {@code γ_h = 1 - 2^-(5+h)} (horizons of 32, 64, 128, ...
 *     tokens, as RetNet's multi-scale decay), so that {@code exp(logsigmoid(b)/16) = γ_h}, i.e. {@code b = logit(γ_h^16)};
 *     horizons stop growing at 2^15;</li>
 * <li>{@code gk_proj.1.weight} zero, so the gate starts input-independent;</li>
 * <li>{@code gk_proj.0.weight} small seeded Gaussian values (std {@code 1/sqrt(hidden)}), which break the symmetry
 *     calibration needs and change nothing while {@code gk_proj.1} is zero; the seed is the layer index;</li>
 * <li>{@code g_norm.weight} ones.</li>
 * </ul>
 */
public record GatedLinearLayer() implements LayerKind {
    private static final int SLOWEST_DECAY_EXPONENT = 15;

    @Override
    public LayerAttention attention() {
        return LayerAttention.gatedLinear();
    }

    @Override
    public List<OpFamily> opFamilies() {
        return List.of(OpFamily.GLA);
    }

    @Override
    public boolean seesKey(int key, int query) {
        return false;
    }

    @Override
    public OptionalInt visibleKeys() {
        return OptionalInt.of(0);
    }

    @Override
    public boolean keepsKeys() {
        return false;
    }

    @Override
    public boolean keepsState() {
        return true;
    }

    @Override
    public SequenceMemory sequenceMemory(ModelConfig config, long context) {
        return new SequenceMemory((long) config.keyValueHeadCount() * config.headDimension() * config.headDimension(), 0, 0);
    }

    @Override
    public double mixingMacsPerToken(ModelConfig config, long context) {
        long d = config.headDimension();
        long keyValueWidth = config.keyValueHeadCount() * d;
        return (double) config.gateLowRankDimension() * config.hiddenSize() + (double) keyValueWidth * config.gateLowRankDimension()
                + (double) config.headCount() * d * d + (double) keyValueWidth * d;
    }

    @Override
    public Map<LayerTensor, float[]> initialTensors(ModelConfig config, int layer) {
        Map<LayerTensor, float[]> tensors = new LinkedHashMap<>();
        tensors.put(LayerTensor.DECAY_GATE_DOWN_WEIGHT, gateDownWeight(config, layer));
        tensors.put(LayerTensor.DECAY_GATE_UP_WEIGHT, new float[config.keyValueHeadCount() * config.headDimension() * config.gateLowRankDimension()]);
        tensors.put(LayerTensor.DECAY_GATE_UP_BIAS, gateUpBias(config));
        float[] ones = new float[config.headDimension()];
        Arrays.fill(ones, 1f);
        tensors.put(LayerTensor.HEAD_OUTPUT_NORM, ones);
        return tensors;
    }

    private static float[] gateDownWeight(ModelConfig config, int layer) {
        int hidden = config.hiddenSize();
        float[] values = new float[config.gateLowRankDimension() * hidden];
        SplittableRandom random = new SplittableRandom(0x51C0_0000L + layer);
        double scale = 1 / Math.sqrt(hidden);
        for (int i = 0; i < values.length; i++) {
            double u = random.nextDouble(Double.MIN_VALUE, 1);
            double v = random.nextDouble();
            values[i] = (float) (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * scale);
        }
        return values;
    }

    private static float[] gateUpBias(ModelConfig config) {
        int d = config.headDimension();
        float[] bias = new float[config.keyValueHeadCount() * d];
        for (int head = 0; head < config.keyValueHeadCount(); head++) {
            double decay = 1 - Math.pow(2, -(5 + Math.min(head, SLOWEST_DECAY_EXPONENT - 5)));
            double sigmoid = Math.pow(decay, config.gateLogitNormalizer());
            float value = (float) Math.log(sigmoid / (1 - sigmoid));
            Arrays.fill(bias, head * d, (head + 1) * d, value);
        }
        return bias;
    }

    @Override
    public String toString() {
        return attention().toString();
    }
}
