package dev.spikeconv.converter.transfer;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.layers.GatedLinearLayer;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.converter.layers.SoftmaxLayer;
import dev.spikeconv.converter.quantization.Int8Quantizer;
import dev.spikeconv.converter.reference.GatedLinearInputs;
import dev.spikeconv.converter.reference.GatedLinearRecurrence;
import dev.spikeconv.converter.reference.Normalization;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeArithmetic;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.FloatEncodings;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Training-free attention transfer for GLA layers, layer by layer: each layer is fitted on the
 * converted model's own inputs (the layers below already fitted), with the dense model's attention
 * output at that layer as the target. Step 1 picks a decay per key/value head from a grid, scored by
 * how well a least-squares map of the GLA heads reproduces the dense heads; step 2 fits a ridge
 * readout from the GLA heads to the dense attention output and folds it into {@code o_proj} with a
 * bias. Both models run in the Java reference engine, the bundle with its own int8 weights and spikes.
 */
public final class AttentionTransfer {
    /** Step 1 grid: γ = 1 - 2^-x for x = 1, 1.5, ..., 15 (memory horizons of 2 to 32k tokens). */
    static final double[] DECAY_GRID = decayGrid();
    /** Step 2 ridge penalties, relative to the mean feature variance. */
    static final double[] RIDGE_PENALTIES = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1};
    private static final double SCORING_PENALTY = 1e-6;
    /** Step 1 refines the per-head decay channel by channel, this many passes over the key channels. */
    static final int CHANNEL_SWEEPS = 2;

    /**
     * The fitted model: {@code config} (with {@code o_proj} biases when step 2 ran), new values of
     * existing tensors, and new tensors, by canonical name, plus a report per GLA layer.
     */
    public record Result(ModelConfig config, Map<String, float[]> replaced, Map<String, float[]> added, List<LayerTransfer> layers) {}

    private final ModelDescription bundle;
    private final ModelConfig config;
    private final TransferOptions options;
    private final Consumer<String> progress;
    private final Map<String, TensorView> replacements = new LinkedHashMap<>();
    private final Map<String, float[]> replaced = new LinkedHashMap<>();
    private final Map<String, float[]> added = new LinkedHashMap<>();
    private ModelConfig fittedConfig;

    private AttentionTransfer(ModelDescription bundle, TransferOptions options, Consumer<String> progress) {
        this.bundle = bundle;
        this.config = bundle.config();
        this.options = options;
        this.progress = progress;
        this.fittedConfig = config;
    }

    /** Fits every GLA layer of {@code bundle} to {@code dense} on {@code sequences}; neither model is changed. */
    public static Result fit(ModelDescription bundle, ModelDescription dense, List<int[]> sequences, TransferOptions options, Consumer<String> progress) {
        checkCompatible(bundle.config(), dense.config());
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("attention transfer needs at least one calibration sequence");
        }
        return new AttentionTransfer(bundle, options, progress).run(dense, sequences);
    }

    private static void checkCompatible(ModelConfig bundle, ModelConfig dense) {
        if (bundle.hiddenSize() != dense.hiddenSize() || bundle.layerCount() != dense.layerCount() || bundle.headCount() != dense.headCount()
                || bundle.keyValueHeadCount() != dense.keyValueHeadCount() || bundle.headDimension() != dense.headDimension()
                || bundle.vocabularySize() != dense.vocabularySize()) {
            throw new InvalidInputException("the reference model does not match the bundle: hidden " + dense.hiddenSize() + " vs " + bundle.hiddenSize()
                    + ", layers " + dense.layerCount() + " vs " + bundle.layerCount() + ", heads " + dense.headCount() + "/" + dense.keyValueHeadCount()
                    + " vs " + bundle.headCount() + "/" + bundle.keyValueHeadCount() + ", vocabulary " + dense.vocabularySize() + " vs "
                    + bundle.vocabularySize());
        }
    }

    private Result run(ModelDescription dense, List<int[]> sequences) {
        List<Integer> heldOut = heldOut(sequences.size());
        List<Integer> training = new ArrayList<>();
        for (int index = 0; index < sequences.size(); index++) {
            if (!heldOut.contains(index)) {
                training.add(index);
            }
        }
        List<Integer> evaluation = heldOut.isEmpty() ? training : heldOut;
        if (options.fitReadout() && !config.outputProjectionBias()) {
            fittedConfig = config.toBuilder().outputProjectionBias(true).build(bundle.files().isEmpty() ? null : bundle.files().getFirst());
            for (int layer = 0; layer < config.layerCount(); layer++) {
                float[] zeros = new float[config.hiddenSize()];
                replacements.put(LayerTensor.OUTPUT_BIAS.name(layer), StoredTensor.ofFloats(LayerTensor.OUTPUT_BIAS.name(layer), Shape.of(zeros.length), zeros));
                added.put(LayerTensor.OUTPUT_BIAS.name(layer), zeros);
            }
        }
        List<LayerTransfer> reports = new ArrayList<>();
        try (ModelDescription start = derived()) {
            ReferenceModel denseModel = ReferenceModel.load(dense);
            ReferenceModel bundleModel = ReferenceModel.load(start);
            float[][] denseStream = new float[sequences.size()][];
            float[][] bundleStream = new float[sequences.size()][];
            for (int s = 0; s < sequences.size(); s++) {
                denseStream[s] = denseModel.embed(sequences.get(s));
                bundleStream[s] = bundleModel.embed(sequences.get(s));
            }
            for (int layer = 0; layer < config.layerCount(); layer++) {
                if (!fits(LayerKind.of(config, layer))) {
                    for (int s = 0; s < sequences.size(); s++) {
                        denseModel.runLayer(layer, denseStream[s], sequences.get(s).length);
                        bundleModel.runLayer(layer, bundleStream[s], sequences.get(s).length);
                    }
                    continue;
                }
                progress.accept("attention transfer: layer " + layer);
                float[][] targetOutputs = new float[sequences.size()][];
                float[][] targetHeads = new float[sequences.size()][];
                for (int s = 0; s < sequences.size(); s++) {
                    float[] denseBefore = denseStream[s].clone();
                    ReferenceModel.LayerStep step = denseModel.runLayer(layer, denseStream[s], sequences.get(s).length);
                    targetOutputs[s] = step.attentionOutput();
                    // The layer also corrects the error that reached it: target the dense stream after attention.
                    for (int i = 0; i < targetOutputs[s].length; i++) {
                        targetOutputs[s][i] += denseBefore[i] - bundleStream[s][i];
                    }
                    targetHeads[s] = step.attentionHeads();
                }
                double before = error(bundleModel, layer, bundleStream, targetOutputs, sequences, evaluation);
                double[] decays = new double[0];
                if (options.fitDecay()) {
                    decays = fitDecays(bundleModel, layer, bundleStream, targetHeads, sequences, training);
                    bundleModel = withLayer(bundleModel, layer);
                }
                double afterDecay = error(bundleModel, layer, bundleStream, targetOutputs, sequences, evaluation);
                double penalty = Double.NaN;
                if (options.fitReadout()) {
                    penalty = fitReadout(bundleModel, layer, bundleStream, targetOutputs, sequences, training, heldOut);
                    bundleModel = withLayer(bundleModel, layer);
                }
                double afterReadout = error(bundleModel, layer, bundleStream, targetOutputs, sequences, evaluation);
                double afterAdam = afterReadout;
                if (options.adamSteps() > 0) {
                    fineTune(bundleModel, layer, bundleStream, targetOutputs, sequences, training);
                    bundleModel = withLayer(bundleModel, layer);
                    penalty = fitReadout(bundleModel, layer, bundleStream, targetOutputs, sequences, training, heldOut);
                    bundleModel = withLayer(bundleModel, layer);
                    afterAdam = error(bundleModel, layer, bundleStream, targetOutputs, sequences, evaluation);
                }
                reports.add(new LayerTransfer(layer, decays, penalty, before, afterDecay, afterReadout, afterAdam));
                progress.accept(String.format(Locale.ROOT, "attention transfer: layer %d output error %.4f -> %.4f (decay) -> %.4f (readout)%s", layer, before,
                        afterDecay, afterReadout, options.adamSteps() > 0 ? String.format(Locale.ROOT, " -> %.4f (Adam)", afterAdam) : ""));
                for (int s = 0; s < sequences.size(); s++) {
                    bundleModel.runLayer(layer, bundleStream[s], sequences.get(s).length);
                }
            }
        }
        return new Result(fittedConfig, Collections.unmodifiableMap(replaced), Collections.unmodifiableMap(added), List.copyOf(reports));
    }

    /** Whether transfer fits layers of {@code kind}: it fits GLA layers to the dense attention; softmax kinds keep the source's. */
    static boolean fits(LayerKind kind) {
        return switch (kind) {
            case GatedLinearLayer linear -> true;
            case SoftmaxLayer softmax -> false;
            case SlidingWindowLayer window -> false;
        };
    }

    /** Whether {@code config} has a layer transfer fits. */
    public static boolean hasLayersToFit(ModelConfig config) {
        return LayerKind.of(config).stream().anyMatch(AttentionTransfer::fits);
    }

    /** The held-out sequences: a seeded choice of {@code heldOutShare} of them, none when there is only one. */
    private List<Integer> heldOut(int count) {
        if (count < 2 || options.heldOutShare() == 0) {
            return List.of();
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(options.seed()));
        int size = (int) Math.max(1, Math.min(count - 1, Math.round(count * options.heldOutShare())));
        List<Integer> chosen = new ArrayList<>(order.subList(0, size));
        Collections.sort(chosen);
        return chosen;
    }

    private ModelDescription derived() {
        return bundle.derive(fittedConfig, replacements);
    }

    private ReferenceModel withLayer(ReferenceModel model, int layer) {
        try (ModelDescription current = derived()) {
            return model.withLayer(layer, current);
        }
    }

    /** {@code Σ||attention output - target||² / Σ||target||²} over {@code indices}, without advancing the streams. */
    private static double error(ReferenceModel model, int layer, float[][] streams, float[][] targets, List<int[]> sequences, List<Integer> indices) {
        double residual = 0;
        double total = 0;
        for (int s : indices) {
            float[] output = model.runLayer(layer, streams[s].clone(), sequences.get(s).length).attentionOutput();
            for (int i = 0; i < output.length; i++) {
                double difference = output[i] - targets[s][i];
                residual += difference * difference;
                total += (double) targets[s][i] * targets[s][i];
            }
        }
        return total == 0 ? 0 : residual / total;
    }

    /**
     * Step 1: for each key/value head the grid decay whose normed GLA heads best explain the dense heads
     * linearly, then refined key channel by key channel; returns the decay of every key channel. The
     * gate becomes input-independent: {@code gk_proj.1.weight} zero, the decays in its bias.
     */
    private double[] fitDecays(ReferenceModel model, int layer, float[][] streams, float[][] targetHeads, List<int[]> sequences, List<Integer> training) {
        int keyValueHeads = config.keyValueHeadCount();
        int d = config.headDimension();
        float[] headNorm = bundle.tensor(LayerTensor.HEAD_OUTPUT_NORM.name(layer)).toFloats();
        List<GatedLinearInputs> inputs = new ArrayList<>();
        for (int s : training) {
            int count = sequences.get(s).length;
            inputs.add(model.gatedLinearInputs(layer, model.attentionInput(layer, streams[s], count), count));
        }
        double[] chosen = new double[keyValueHeads];
        for (int keyHead = 0; keyHead < keyValueHeads; keyHead++) {
            double bestScore = Double.POSITIVE_INFINITY;
            for (double decay : DECAY_GRID) {
                double[] uniform = new double[keyValueHeads * d];
                Arrays.fill(uniform, decay);
                double score = proxyScore(inputs, training, targetHeads, headNorm, keyHead, uniform);
                if (score < bestScore) {
                    bestScore = score;
                    chosen[keyHead] = decay;
                }
            }
        }
        double[] channelDecays = new double[keyValueHeads * d];
        for (int keyHead = 0; keyHead < keyValueHeads; keyHead++) {
            Arrays.fill(channelDecays, keyHead * d, (keyHead + 1) * d, chosen[keyHead]);
        }
        for (int sweep = 0; sweep < CHANNEL_SWEEPS; sweep++) {
            for (int keyHead = 0; keyHead < keyValueHeads; keyHead++) {
                for (int channel = keyHead * d; channel < (keyHead + 1) * d; channel++) {
                    double bestScore = Double.POSITIVE_INFINITY;
                    double best = channelDecays[channel];
                    for (double decay : DECAY_GRID) {
                        double[] trial = channelDecays.clone();
                        trial[channel] = decay;
                        double score = proxyScore(inputs, training, targetHeads, headNorm, keyHead, trial);
                        if (score < bestScore) {
                            bestScore = score;
                            best = decay;
                        }
                    }
                    channelDecays[channel] = best;
                }
            }
        }
        float[] bias = new float[keyValueHeads * d];
        for (int channel = 0; channel < bias.length; channel++) {
            bias[channel] = decayBias(channelDecays[channel], config.gateLogitNormalizer());
        }
        float[] weight = new float[keyValueHeads * d * config.gateLowRankDimension()];
        replace(LayerTensor.DECAY_GATE_UP_WEIGHT.name(layer), weight);
        replace(LayerTensor.DECAY_GATE_UP_BIAS.name(layer), bias);
        return channelDecays;
    }

    /** How well the normed outputs of one key/value head, with per-channel decays, linearly explain its dense heads: residual share. */
    private double proxyScore(List<GatedLinearInputs> inputs, List<Integer> training, float[][] targetHeads, float[] headNorm, int keyHead, double[] channelDecays) {
        int heads = config.headCount();
        int keyValueHeads = config.keyValueHeadCount();
        int d = config.headDimension();
        int group = heads / keyValueHeads;
        NormalEquations equations = new NormalEquations(group * d, group * d);
        for (int i = 0; i < training.size(); i++) {
            GatedLinearInputs base = inputs.get(i);
            int count = base.count();
            float[] decays = new float[base.decays().length];
            for (int t = 0; t < count; t++) {
                for (int c = 0; c < keyValueHeads * d; c++) {
                    decays[t * keyValueHeads * d + c] = (float) channelDecays[c];
                }
            }
            float[] output = new float[count * heads * d];
            GatedLinearRecurrence.run(new GatedLinearInputs(base.queries(), base.keys(), base.values(), decays, count), heads, keyValueHeads, d, keyHead,
                    new float[d * d], output);
            equations.add(groupSlice(Normalization.rms(output, count * heads, headNorm, config.normEpsilon()), count, keyHead, group, d, heads),
                    groupSlice(targetHeads[training.get(i)], count, keyHead, group, d, heads), count);
        }
        double total = equations.centredTargetSumOfSquares();
        return total == 0 ? 0 : equations.residualSumOfSquares(equations.solve(SCORING_PENALTY * equations.meanVariance())) / total;
    }

    /** The gate bias b with {@code exp(logsigmoid(b) / normalizer) = γ}: {@code sigmoid(b) = γ^normalizer}. */
    static float decayBias(double decay, int normalizer) {
        double power = Math.pow(decay, normalizer);
        return (float) (Math.log(power) - Math.log1p(-power));
    }

    /** Columns of one key/value head's query heads, {@code [count, group·d]}. */
    private static float[] groupSlice(float[] values, int count, int keyHead, int group, int d, int heads) {
        float[] slice = new float[count * group * d];
        for (int t = 0; t < count; t++) {
            System.arraycopy(values, (t * heads + keyHead * group) * d, slice, t * group * d, group * d);
        }
        return slice;
    }

    /** Step 2: ridge readout from the GLA heads to the dense attention output, λ chosen on the held-out sequences; returns λ relative. */
    private double fitReadout(ReferenceModel model, int layer, float[][] streams, float[][] targets, List<int[]> sequences, List<Integer> training,
            List<Integer> heldOut) {
        int features = config.headCount() * config.headDimension();
        int hidden = config.hiddenSize();
        NormalEquations equations = new NormalEquations(features, hidden);
        for (int s : training) {
            int count = sequences.get(s).length;
            equations.add(asProjectionSees(SpikeSites.site(LayerTensor.OUTPUT_WEIGHT, layer), model.runLayer(layer, streams[s].clone(), count).attentionHeads(), count), targets[s], count);
        }
        double scale = equations.meanVariance();
        double chosen = 1e-4;
        if (!heldOut.isEmpty()) {
            List<float[]> heldOutFeatures = new ArrayList<>();
            for (int s : heldOut) {
                heldOutFeatures.add(asProjectionSees(SpikeSites.site(LayerTensor.OUTPUT_WEIGHT, layer), model.runLayer(layer, streams[s].clone(), sequences.get(s).length).attentionHeads(),
                        sequences.get(s).length));
            }
            double bestError = Double.POSITIVE_INFINITY;
            for (double penalty : RIDGE_PENALTIES) {
                NormalEquations.Solution solution = equations.solve(penalty * scale);
                double error = 0;
                for (int i = 0; i < heldOut.size(); i++) {
                    int s = heldOut.get(i);
                    float[] predicted = solution.predict(heldOutFeatures.get(i), sequences.get(s).length);
                    for (int j = 0; j < predicted.length; j++) {
                        double difference = predicted[j] - targets[s][j];
                        error += difference * difference;
                    }
                }
                if (error < bestError) {
                    bestError = error;
                    chosen = penalty;
                }
            }
            for (int i = 0; i < heldOut.size(); i++) {
                equations.add(heldOutFeatures.get(i), targets[heldOut.get(i)], sequences.get(heldOut.get(i)).length);
            }
        }
        NormalEquations.Solution solution = equations.solve(chosen * equations.meanVariance());
        float[] weight = new float[hidden * features];
        for (int i = 0; i < features; i++) {
            for (int k = 0; k < hidden; k++) {
                weight[k * features + i] = (float) solution.weights()[i * hidden + k];
            }
        }
        float[] bias = new float[hidden];
        for (int k = 0; k < hidden; k++) {
            bias[k] = (float) solution.intercept()[k];
        }
        replace(LayerTensor.OUTPUT_WEIGHT.name(layer), weight);
        String biasName = LayerTensor.OUTPUT_BIAS.name(layer);
        replacements.put(biasName, StoredTensor.ofFloats(biasName, Shape.of(hidden), bias));
        if (added.containsKey(biasName)) {
            added.put(biasName, bias);
        }
        else {
            replaced.put(biasName, bias);
        }
        return chosen;
    }

    /**
     * Step 3: Adam on the q/k projections and the decay gate of one layer, the readout frozen, on the
     * training sequences; the new values replace the old ones (q/k quantized again as the bundle stores them).
     */
    private void fineTune(ReferenceModel model, int layer, float[][] streams, float[][] targets, List<int[]> sequences, List<Integer> training) {
        if (config.qkNorm()) {
            throw new InvalidOptionException("adam-steps", "attention transfer's Adam step does not handle q/k norms (Qwen3) yet: use 0");
        }
        List<GatedLinearLayerFit.Sequence> data = new ArrayList<>();
        for (int s : training) {
            int count = sequences.get(s).length;
            float[] normed = model.attentionInput(layer, streams[s], count);
            float[] values = model.gatedLinearInputs(layer, normed, count).values();
            data.add(new GatedLinearLayerFit.Sequence(asProjectionSees(SpikeSites.site(LayerTensor.QUERY_WEIGHT, layer), normed, count), normed, values,
                    targets[s], count));
        }
        GatedLinearLayerFit.Parameters parameters;
        GatedLinearLayerFit fit;
        try (ModelDescription current = derived()) {
            parameters = new GatedLinearLayerFit.Parameters(
                    current.tensor(LayerTensor.QUERY_WEIGHT.name(layer)).toFloats(), optional(current, LayerTensor.QUERY_BIAS.name(layer)),
                    current.tensor(LayerTensor.KEY_WEIGHT.name(layer)).toFloats(), optional(current, LayerTensor.KEY_BIAS.name(layer)),
                    current.tensor(LayerTensor.DECAY_GATE_DOWN_WEIGHT.name(layer)).toFloats(),
                    current.tensor(LayerTensor.DECAY_GATE_UP_WEIGHT.name(layer)).toFloats(),
                    current.tensor(LayerTensor.DECAY_GATE_UP_BIAS.name(layer)).toFloats());
            fit = new GatedLinearLayerFit(config.hiddenSize(), config.headCount(), config.keyValueHeadCount(), config.headDimension(),
                    config.gateLowRankDimension(), config.gateLogitNormalizer(), config.normEpsilon(),
                    current.tensor(LayerTensor.HEAD_OUTPUT_NORM.name(layer)).toFloats(), current.tensor(LayerTensor.OUTPUT_WEIGHT.name(layer)).toFloats(),
                    optional(current, LayerTensor.OUTPUT_BIAS.name(layer)));
        }
        double[] losses = fit.adam(parameters, data, options.adamSteps(), options.learningRate());
        progress.accept(String.format(Locale.ROOT, "attention transfer: layer %d Adam training loss %.4f -> %.4f over %d steps", layer, losses[0],
                losses[losses.length - 1], losses.length));
        replace(LayerTensor.QUERY_WEIGHT.name(layer), parameters.query);
        replace(LayerTensor.KEY_WEIGHT.name(layer), parameters.key);
        if (parameters.queryBias != null) {
            replace(LayerTensor.QUERY_BIAS.name(layer), parameters.queryBias);
            replace(LayerTensor.KEY_BIAS.name(layer), parameters.keyBias);
        }
        replace(LayerTensor.DECAY_GATE_DOWN_WEIGHT.name(layer), parameters.gateDown);
        replace(LayerTensor.DECAY_GATE_UP_WEIGHT.name(layer), parameters.gateUp);
        replace(LayerTensor.DECAY_GATE_UP_BIAS.name(layer), parameters.gateBias);
    }

    private static float[] optional(ModelDescription model, String name) {
        TensorView tensor = model.tensors().get(name);
        return tensor == null ? null : tensor.toFloats();
    }

    /** A projection's input as the projection uses it: spike counts times θ when its site spikes, so a fit sees what the model will be fed. */
    private float[] asProjectionSees(String site, float[] heads, int count) {
        if (!config.spike().spikes(site)) {
            return heads;
        }
        SiteThreshold threshold = SpikeSites.threshold(bundle, site);
        int width = heads.length / count;
        float[] seen = new float[heads.length];
        for (int t = 0; t < count; t++) {
            int offset = t * width;
            float theta = switch (threshold) {
                case SiteThreshold.Dynamic dynamic -> SpikeArithmetic.dynamicThreshold(heads, offset, width, dynamic.k());
                case SiteThreshold.Static fixed -> fixed.thresholds()[0];
            };
            for (int j = 0; j < width; j++) {
                float channelTheta = threshold instanceof SiteThreshold.Static fixed && fixed.perChannel() ? fixed.thresholds()[j] : theta;
                seen[offset + j] = channelTheta * SpikeArithmetic.count(heads[offset + j], channelTheta, config.spike().timeSteps());
            }
        }
        return seen;
    }

    /** New values for an existing tensor, as the bundle will store them: int8 with the bundle's group, or rounded to its float type. */
    private void replace(String name, float[] values) {
        TensorView current = bundle.tensor(name);
        replaced.put(name, values);
        if (current instanceof ScaledInt8Tensor int8) {
            int rows = (int) current.shape().dimension(0);
            int columns = (int) current.shape().dimension(1);
            int group = Math.min(int8.groupSize(), columns);
            int groups = Int8Quantizer.groupsPerRow(columns, group);
            byte[] codes = new byte[values.length];
            float[] scales = new float[rows * groups];
            Int8Quantizer.quantize(values, rows, columns, group, codes, scales);
            replacements.put(name, new ScaledInt8Tensor(StoredTensor.ofBytes(name, current.shape(), codes),
                    StoredTensor.ofFloats(name + "_scale", Shape.of(rows, groups), scales), int8.groupSize()));
            return;
        }
        float[] stored = values.clone();
        if (current.dtype() == DType.BF16 || current.dtype() == DType.F16) {
            for (int i = 0; i < stored.length; i++) {
                stored[i] = current.dtype() == DType.BF16
                        ? FloatEncodings.bfloat16ToFloat(FloatEncodings.floatToBfloat16(stored[i]))
                        : FloatEncodings.halfToFloat(FloatEncodings.floatToHalf(stored[i]));
            }
        }
        replacements.put(name, StoredTensor.ofFloats(name, current.shape(), stored));
    }

    private static double[] decayGrid() {
        double[] grid = new double[29];
        for (int i = 0; i < grid.length; i++) {
            grid[i] = 1 - Math.pow(2, -(1 + 0.5 * i));
        }
        return grid;
    }
}
