package dev.spikeconv.converter.transfer;

import dev.spikeconv.converter.kernels.VectorKernels;
import java.util.List;

/**
 * One GLA layer as a differentiable function of its query, key and decay-gate parameters, with the value
 * projection, head norm and readout frozen: the loss is {@code Σ||o_proj(RMSNorm_head(GLA)) + b - target||² / Σ||target||²}
 * over the sequences, and its gradient is written out by hand (the recurrence backwards through the stored
 * states). Adam steps on it are attention transfer's step 3.
 */
final class GatedLinearLayerFit {
    /** The trainable parameters, row-major as stored: {@code [out, in]} weights, biases null when absent. */
    static final class Parameters {
        final float[] query;
        final float[] queryBias;
        final float[] key;
        final float[] keyBias;
        final float[] gateDown;
        final float[] gateUp;
        final float[] gateBias;

        Parameters(float[] query, float[] queryBias, float[] key, float[] keyBias, float[] gateDown, float[] gateUp, float[] gateBias) {
            this.query = query;
            this.queryBias = queryBias;
            this.key = key;
            this.keyBias = keyBias;
            this.gateDown = gateDown;
            this.gateUp = gateUp;
            this.gateBias = gateBias;
        }

        float[][] arrays() {
            return new float[][] {query, queryBias, key, keyBias, gateDown, gateUp, gateBias};
        }

        Parameters zerosLike() {
            return new Parameters(new float[query.length], queryBias == null ? null : new float[queryBias.length], new float[key.length],
                    keyBias == null ? null : new float[keyBias.length], new float[gateDown.length], new float[gateUp.length], new float[gateBias.length]);
        }
    }

    /** One sequence: the projections' input (as they see it), the gate's input, the frozen values and the target. */
    record Sequence(float[] spikedInput, float[] gateInput, float[] values, float[] target, int count) {}

    private final int hidden;
    private final int heads;
    private final int keyValueHeads;
    private final int d;
    private final int rank;
    private final float normalizer;
    private final double epsilon;
    private final float[] headNorm;
    private final float[] readout;
    private final float[] readoutBias;

    /** {@code readout [hidden, heads·d]}, {@code readoutBias [hidden]}. */
    GatedLinearLayerFit(int hidden, int heads, int keyValueHeads, int d, int rank, float normalizer, double epsilon, float[] headNorm, float[] readout,
            float[] readoutBias) {
        this.hidden = hidden;
        this.heads = heads;
        this.keyValueHeads = keyValueHeads;
        this.d = d;
        this.rank = rank;
        this.normalizer = normalizer;
        this.epsilon = epsilon;
        this.headNorm = headNorm;
        this.readout = readout;
        this.readoutBias = readoutBias;
    }

    /** The loss over {@code sequences}; when {@code gradient} is not null, adds its gradient there. */
    double loss(Parameters parameters, List<Sequence> sequences, Parameters gradient) {
        double targetSquares = 0;
        for (Sequence sequence : sequences) {
            for (float value : sequence.target()) {
                targetSquares += (double) value * value;
            }
        }
        double residual = 0;
        for (Sequence sequence : sequences) {
            residual += sequence(parameters, sequence, gradient, targetSquares);
        }
        return targetSquares == 0 ? 0 : residual / targetSquares;
    }

    /** Forward (and backward) of one sequence; returns its squared residual. */
    private double sequence(Parameters p, Sequence sequence, Parameters gradient, double targetSquares) {
        int n = sequence.count();
        int queryWidth = heads * d;
        int keyWidth = keyValueHeads * d;
        int group = heads / keyValueHeads;
        float scale = (float) (1 / Math.sqrt(d));
        float[] x = sequence.spikedInput();
        float[] queryPre = affine(x, n, hidden, p.query, p.queryBias, queryWidth);
        float[] keyPre = affine(x, n, hidden, p.key, p.keyBias, keyWidth);
        float[] queries = new float[queryPre.length];
        for (int i = 0; i < queries.length; i++) {
            queries[i] = Math.max(0, queryPre[i]) * scale;
        }
        float[] keys = new float[keyPre.length];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = Math.max(0, keyPre[i]);
        }
        float[] low = affine(sequence.gateInput(), n, hidden, p.gateDown, null, rank);
        float[] logits = affine(low, n, rank, p.gateUp, p.gateBias, keyWidth);
        float[] decays = new float[logits.length];
        for (int i = 0; i < decays.length; i++) {
            decays[i] = (float) Math.exp(logSigmoid(logits[i]) / normalizer);
        }
        float[] values = sequence.values();
        // states[t][keyHead][i·d + j] after token t
        float[][] states = new float[n * keyValueHeads][];
        float[] raw = new float[n * queryWidth];
        for (int keyHead = 0; keyHead < keyValueHeads; keyHead++) {
            float[] state = new float[d * d];
            for (int t = 0; t < n; t++) {
                int channel = t * keyWidth + keyHead * d;
                float[] next = new float[d * d];
                for (int i = 0; i < d; i++) {
                    for (int j = 0; j < d; j++) {
                        next[i * d + j] = decays[channel + i] * state[i * d + j] + keys[channel + i] * values[channel + j];
                    }
                }
                state = next;
                states[t * keyValueHeads + keyHead] = state;
                for (int member = 0; member < group; member++) {
                    int offset = t * queryWidth + (keyHead * group + member) * d;
                    for (int j = 0; j < d; j++) {
                        float sum = 0;
                        for (int i = 0; i < d; i++) {
                            sum += queries[offset + i] * state[i * d + j];
                        }
                        raw[offset + j] = sum;
                    }
                }
            }
        }
        float[] inverse = new float[n * heads];
        float[] normed = new float[raw.length];
        for (int row = 0; row < n * heads; row++) {
            double squares = 0;
            for (int j = 0; j < d; j++) {
                squares += (double) raw[row * d + j] * raw[row * d + j];
            }
            inverse[row] = (float) (1 / Math.sqrt(squares / d + epsilon));
            for (int j = 0; j < d; j++) {
                normed[row * d + j] = raw[row * d + j] * inverse[row] * headNorm[j];
            }
        }
        float[] output = affine(normed, n, queryWidth, readout, readoutBias, hidden);
        double residual = 0;
        float[] target = sequence.target();
        float[] outputGradient = new float[output.length];
        for (int i = 0; i < output.length; i++) {
            double difference = output[i] - target[i];
            residual += difference * difference;
            outputGradient[i] = (float) (2 * difference / targetSquares);
        }
        if (gradient == null) {
            return residual;
        }
        // Backward: readout, head norm, recurrence, decays, gate, projections.
        float[] normedGradient = new float[normed.length];
        for (int t = 0; t < n; t++) {
            for (int k = 0; k < hidden; k++) {
                float g = outputGradient[t * hidden + k];
                if (g == 0) {
                    continue;
                }
                VectorKernels.addScaled(normedGradient, t * queryWidth, g, readout, k * queryWidth, queryWidth);
            }
        }
        float[] rawGradient = new float[raw.length];
        for (int row = 0; row < n * heads; row++) {
            double dot = 0;
            for (int j = 0; j < d; j++) {
                dot += (double) raw[row * d + j] * headNorm[j] * normedGradient[row * d + j];
            }
            double r = inverse[row];
            for (int j = 0; j < d; j++) {
                rawGradient[row * d + j] = (float) (r * headNorm[j] * normedGradient[row * d + j] - raw[row * d + j] * r * r * r * dot / d);
            }
        }
        float[] queryGradient = new float[queries.length];
        float[] keyGradient = new float[keys.length];
        float[] decayGradient = new float[decays.length];
        for (int keyHead = 0; keyHead < keyValueHeads; keyHead++) {
            double[] carried = new double[d * d];
            for (int t = n - 1; t >= 0; t--) {
                float[] state = states[t * keyValueHeads + keyHead];
                for (int member = 0; member < group; member++) {
                    int offset = t * queryWidth + (keyHead * group + member) * d;
                    for (int i = 0; i < d; i++) {
                        double sum = 0;
                        for (int j = 0; j < d; j++) {
                            sum += rawGradient[offset + j] * state[i * d + j];
                            carried[i * d + j] += queries[offset + i] * rawGradient[offset + j];
                        }
                        queryGradient[offset + i] += (float) sum;
                    }
                }
                int channel = t * keyWidth + keyHead * d;
                float[] previous = t == 0 ? null : states[(t - 1) * keyValueHeads + keyHead];
                for (int i = 0; i < d; i++) {
                    double keySum = 0;
                    double decaySum = 0;
                    for (int j = 0; j < d; j++) {
                        keySum += carried[i * d + j] * values[channel + j];
                        if (previous != null) {
                            decaySum += carried[i * d + j] * previous[i * d + j];
                        }
                    }
                    keyGradient[channel + i] += (float) keySum;
                    decayGradient[channel + i] += (float) decaySum;
                    for (int j = 0; j < d; j++) {
                        carried[i * d + j] *= decays[channel + i];
                    }
                }
            }
        }
        float[] logitGradient = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            double sigmoid = 1 / (1 + Math.exp(-logits[i]));
            logitGradient[i] = (float) (decayGradient[i] * decays[i] * (1 - sigmoid) / normalizer);
        }
        float[] lowGradient = new float[low.length];
        accumulate(logitGradient, low, n, keyWidth, rank, gradient.gateUp, gradient.gateBias, p.gateUp, lowGradient);
        accumulate(lowGradient, sequence.gateInput(), n, rank, hidden, gradient.gateDown, null, null, null);
        float[] queryPreGradient = new float[queryPre.length];
        for (int i = 0; i < queryPre.length; i++) {
            queryPreGradient[i] = queryPre[i] > 0 ? queryGradient[i] * scale : 0;
        }
        float[] keyPreGradient = new float[keyPre.length];
        for (int i = 0; i < keyPre.length; i++) {
            keyPreGradient[i] = keyPre[i] > 0 ? keyGradient[i] : 0;
        }
        accumulate(queryPreGradient, x, n, queryWidth, hidden, gradient.query, gradient.queryBias, null, null);
        accumulate(keyPreGradient, x, n, keyWidth, hidden, gradient.key, gradient.keyBias, null, null);
        return residual;
    }

    /** {@code y = x Wᵀ + b} for {@code x [n, in]}, {@code W [out, in]}. */
    private static float[] affine(float[] x, int n, int in, float[] weight, float[] bias, int out) {
        float[] y = new float[n * out];
        VectorKernels.multiplyTransposed(x, n, weight, out, in, y);
        if (bias != null) {
            for (int t = 0; t < n; t++) {
                for (int o = 0; o < out; o++) {
                    y[t * out + o] += bias[o];
                }
            }
        }
        return y;
    }

    /**
     * Backward of {@code y = x Wᵀ + b}: adds {@code dyᵀ x} to {@code weightGradient}, {@code Σ dy} to
     * {@code biasGradient}, and {@code dy W} to {@code inputGradient} when asked.
     */
    private static void accumulate(float[] outputGradient, float[] x, int n, int out, int in, float[] weightGradient, float[] biasGradient,
            float[] weight, float[] inputGradient) {
        for (int t = 0; t < n; t++) {
            for (int o = 0; o < out; o++) {
                float g = outputGradient[t * out + o];
                if (g == 0) {
                    continue;
                }
                if (biasGradient != null) {
                    biasGradient[o] += g;
                }
                VectorKernels.addScaled(weightGradient, o * in, g, x, t * in, in);
                if (inputGradient != null) {
                    VectorKernels.addScaled(inputGradient, t * in, g, weight, o * in, in);
                }
            }
        }
    }

    static float logSigmoid(float x) {
        return (float) (Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x))));
    }

    /** Adam on {@code parameters} for {@code steps} full passes; returns the loss after each step's update is measured before it. */
    double[] adam(Parameters parameters, List<Sequence> sequences, int steps, double learningRate) {
        double beta1 = 0.9;
        double beta2 = 0.999;
        double epsilonAdam = 1e-8;
        Parameters first = parameters.zerosLike();
        Parameters second = parameters.zerosLike();
        double[] losses = new double[steps];
        for (int step = 1; step <= steps; step++) {
            Parameters gradient = parameters.zerosLike();
            losses[step - 1] = loss(parameters, sequences, gradient);
            float[][] values = parameters.arrays();
            float[][] gradients = gradient.arrays();
            float[][] firsts = first.arrays();
            float[][] seconds = second.arrays();
            double correction1 = 1 - Math.pow(beta1, step);
            double correction2 = 1 - Math.pow(beta2, step);
            for (int array = 0; array < values.length; array++) {
                if (values[array] == null) {
                    continue;
                }
                for (int i = 0; i < values[array].length; i++) {
                    double g = gradients[array][i];
                    firsts[array][i] = (float) (beta1 * firsts[array][i] + (1 - beta1) * g);
                    seconds[array][i] = (float) (beta2 * seconds[array][i] + (1 - beta2) * g * g);
                    double update = learningRate * (firsts[array][i] / correction1) / (Math.sqrt(seconds[array][i] / correction2) + epsilonAdam);
                    values[array][i] -= (float) update;
                }
            }
        }
        return losses;
    }
}
