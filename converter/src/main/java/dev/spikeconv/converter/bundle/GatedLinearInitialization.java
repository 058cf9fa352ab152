package dev.spikeconv.converter.bundle;

import dev.spikeconv.formats.model.ModelConfig;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Training-free starting values for the parameters a GLA layer adds (calibrate fits them on data):
 * <ul>
 * <li>{@code gk_proj.1.bias}: a fixed decay per key/value head, {@code γ_h = 1 - 2^-(5+h)} (horizons of
 *     32, 64, 128, ... tokens, as RetNet's multi-scale decay), so that
 *     {@code exp(logsigmoid(b)/16) = γ_h}, i.e. {@code b = logit(γ_h^16)}; horizons stop growing at 2^15;</li>
 * <li>{@code gk_proj.1.weight} zero, so the gate starts input-independent;</li>
 * <li>{@code gk_proj.0.weight} small seeded Gaussian values (std {@code 1/sqrt(hidden)}), which break the
 *     symmetry calibration needs and change nothing while {@code gk_proj.1} is zero;</li>
 * <li>{@code g_norm.weight} ones.</li>
 * </ul>
 * The seed is the layer index, so conversions are reproducible.
 */
public final class GatedLinearInitialization {
    private static final int SLOWEST_DECAY_EXPONENT = 15;

    private GatedLinearInitialization() {}

    public static float[] gateDownWeight(ModelConfig config, int layer) {
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

    public static float[] gateUpWeight(ModelConfig config) {
        return new float[config.keyValueHeadCount() * config.headDimension() * config.gateLowRankDimension()];
    }

    public static float[] gateUpBias(ModelConfig config) {
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

    public static float[] headNorm(ModelConfig config) {
        float[] ones = new float[config.headDimension()];
        Arrays.fill(ones, 1f);
        return ones;
    }
}
