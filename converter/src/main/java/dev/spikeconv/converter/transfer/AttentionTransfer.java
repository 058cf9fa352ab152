package dev.spikeconv.converter.transfer;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.layers.GatedLinearLayer;
import dev.spikeconv.converter.layers.HybridLayer;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.converter.layers.SoftmaxLayer;
import dev.spikeconv.converter.quantization.StoredForm;
import dev.spikeconv.converter.reference.GatedLinearInputs;
import dev.spikeconv.converter.reference.GatedLinearRecurrence;
import dev.spikeconv.converter.reference.HybridRecurrence;
import dev.spikeconv.converter.reference.Normalization;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.converter.reference.ResidualStreams;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeArithmetic;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
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
import java.util.SequencedMap;
import java.util.function.Consumer;

/**
 * Training-free attention transfer for GLA and hybrid layers, one layer at a time as calibrate's layer-by-layer pass
 * reaches them: each layer is fitted on the converted model's own residual streams (the layers below already fitted),
 * with the dense model's attention output at that layer as the target. Step 1 picks, from a grid, a decay per
 * key/value head of a GLA layer, scored by how well a least-squares map of the GLA heads reproduces the dense heads, or
 * the weight β of a hybrid head's older keys, scored by how close the head comes to the dense one; step 2 fits a ridge
 * readout from the heads to the dense attention output and folds it into {@code o_proj} with a bias; step 3 (optional,
 * GLA only) trains the gate and the q/k projections with Adam. Fitted tensors are kept as the bundle stores them (int8 codes
 * and scales, or its float type), so the model the next layer is fitted on is the model the bundle will hold.
 */
public final class AttentionTransfer {
    /** Step 1 grid: γ = 1 - 2^-x for x = 1, 1.5, ..., 15 (memory horizons of 2 to 32k tokens). */
    static final double[] DECAY_GRID = decayGrid();
    /** Step 2 ridge penalties, relative to the mean feature variance. */
    static final double[] RIDGE_PENALTIES = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1};
    private static final double SCORING_PENALTY = 1e-6;
    /** Step 2 chooses its penalty on at most this many output columns. */
    static final int PENALTY_SCORING_COLUMNS = 256;
    /** Step 1 of a hybrid layer: the linear branch's weight β against the window, the same for every head at each point. */
    static final double[] LINEAR_SCALE_GRID = {0, 0.125, 0.25, 0.5, 1, 2, 4, 8};
    /** Step 1 scores decays or linear scales on at most this many training tokens: the choice is one number per head, not a model. */
    public static final int STEP_ONE_SCORING_TOKENS = 2048;

    /** What the dense model did at one layer, per sequence: the attention output the GLA layer should produce, and the dense heads. */
    public record LayerTargets(float[][] outputs, float[][] heads) {}

    private final ModelDescription bundle;
    private final ModelConfig config;
    private final TransferOptions options;
    private final Consumer<String> progress;
    private final List<Integer> training;
    private final List<Integer> heldOut;
    private final List<Integer> evaluation;
    private final Map<String, TensorView> fitted = new LinkedHashMap<>();
    /** The quantization error of each int8 tensor the layer being fitted rewrote. */
    private final SequencedMap<String, Double> layerQuantizationErrors = new LinkedHashMap<>();
    private final List<LayerTransfer> reports = new ArrayList<>();
    private final ModelConfig fittedConfig;

    private AttentionTransfer(ModelDescription bundle, int sequences, TransferOptions options, Consumer<String> progress) {
        this.bundle = bundle;
        this.config = bundle.config();
        this.options = options;
        this.progress = progress;
        this.heldOut = heldOut(sequences, options);
        this.training = new ArrayList<>();
        for (int index = 0; index < sequences; index++) {
            if (!heldOut.contains(index)) {
                training.add(index);
            }
        }
        this.evaluation = heldOut.isEmpty() ? training : heldOut;
        if (options.fitReadout() && !config.outputProjectionBias()) {
            // The readout brings an o_proj bias to every layer; layers it does not fit keep a zero one.
            fittedConfig = config.toBuilder().outputProjectionBias(true).build(bundle.files().isEmpty() ? null : bundle.files().getFirst());
            for (int layer = 0; layer < config.layerCount(); layer++) {
                String name = LayerTensor.OUTPUT_BIAS.name(layer);
                fitted.put(name, StoredTensor.ofFloats(name, Shape.of(config.hiddenSize()), new float[config.hiddenSize()]));
            }
        }
        else {
            fittedConfig = config;
        }
    }

    /**
     * Starts fitting {@code bundle} to a dense model of config {@code dense} on {@code sequences} calibration sequences
     * (held-out ones chosen by the options' seed). Nothing is fitted until {@link #fitLayer}.
     */
    public static AttentionTransfer start(ModelDescription bundle, ModelConfig dense, int sequences, TransferOptions options, Consumer<String> progress) {
        checkCompatible(bundle.config(), dense);
        if (options.adamSteps() > 0 && LayerKind.of(bundle.config()).stream().anyMatch(HybridLayer.class::isInstance)) {
            throw new InvalidOptionException("adam-steps", "attention transfer's Adam step does not train hybrid layers: use 0 (their linear scales "
                    + "and readout are fitted in closed form)");
        }
        if (sequences < 1) {
            throw new IllegalArgumentException("attention transfer needs at least one calibration sequence");
        }
        return new AttentionTransfer(bundle, sequences, options, progress);
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

    /** The bundle's config after transfer (with {@code o_proj} biases when the readout runs). */
    public ModelConfig config() {
        return fittedConfig;
    }

    /** Every tensor transfer changed or added so far, by canonical name, as the bundle will store it. */
    public Map<String, TensorView> fitted() {
        return Collections.unmodifiableMap(fitted);
    }

    /** What transfer did to each layer fitted so far. */
    public List<LayerTransfer> reports() {
        return List.copyOf(reports);
    }

    /** Takes up the tensors and reports of an interrupted run that fitted the layers below the one it stopped at. */
    public void resume(Map<String, ? extends TensorView> tensors, List<LayerTransfer> layers) {
        fitted.putAll(tensors);
        reports.addAll(layers);
    }

    /** The bundle with everything fitted so far; the caller closes it (the bundle's files stay open). */
    public ModelDescription derived() {
        return bundle.derive(fittedConfig, fitted);
    }

    /** Whether transfer fits layer {@code layer}. */
    public boolean fitsLayer(int layer) {
        return fits(LayerKind.of(config, layer));
    }

    /**
     * Fits layer {@code layer} of {@code model} (the bundle with every layer below fitted) so that, from the bundle's
     * residual streams at its input, its attention output approaches {@code targets}; returns the model with the
     * layer fitted. The streams are read, not advanced.
     */
    public ReferenceModel fitLayer(int layer, ReferenceModel model, ResidualStreams streams, LayerTargets targets) {
        progress.accept("attention transfer: layer " + layer);
        ReferenceModel unfitted = model;
        Map<String, TensorView> unfittedTensors = new LinkedHashMap<>(fitted);
        layerQuantizationErrors.clear();
        double before = error(model, layer, streams, targets.outputs(), evaluation);
        double[] decays = new double[0];
        double[] scales = new double[0];
        if (options.fitDecay()) {
            if (LayerKind.of(config, layer) instanceof HybridLayer) {
                scales = fitLinearBranch(model, layer, streams, targets.heads());
            }
            else {
                decays = fitDecays(model, layer, streams, targets.heads());
            }
            model = withLayer(model, layer);
        }
        double afterDecay = error(model, layer, streams, targets.outputs(), evaluation);
        double penalty = Double.NaN;
        if (options.fitReadout()) {
            penalty = fitReadout(model, layer, streams, targets.outputs());
            model = withLayer(model, layer);
        }
        double afterReadout = error(model, layer, streams, targets.outputs(), evaluation);
        double afterAdam = Double.NaN;
        if (options.adamSteps() > 0) {
            fineTune(model, layer, streams, targets.outputs());
            model = withLayer(model, layer);
            penalty = fitReadout(model, layer, streams, targets.outputs());
            model = withLayer(model, layer);
            afterAdam = error(model, layer, streams, targets.outputs(), evaluation);
        }
        double after = Double.isNaN(afterAdam) ? afterReadout : afterAdam;
        if (after > before && LayerKind.of(config, layer) instanceof HybridLayer) {
            // A hybrid starts as its sliding window; a fit that does worse than that on the evaluation sequences is not kept.
            progress.accept(String.format(Locale.ROOT, "attention transfer: layer %d kept as it was (fit %.4f, before %.4f)", layer, after, before));
            fitted.clear();
            fitted.putAll(unfittedTensors);
            layerQuantizationErrors.clear();
            model = unfitted;
            afterReadout = before;
            afterAdam = Double.isNaN(afterAdam) ? afterAdam : before;
        }
        reports.add(new LayerTransfer(layer, decays, scales, penalty, before, afterDecay, afterReadout, afterAdam, layerQuantizationErrors));
        progress.accept(String.format(Locale.ROOT, "attention transfer: layer %d output error %.4f -> %.4f (%s) -> %.4f (readout)%s", layer, before,
                afterDecay, scales.length > 0 ? "linear scales" : "decay", afterReadout, options.adamSteps() > 0 ? String.format(Locale.ROOT, " -> %.4f (Adam)", afterAdam) : ""));
        return model;
    }

    /**
     * Advances the dense streams through {@code layer}; when the bundle's layer is fitted, returns what it should
     * produce: the dense attention output plus the difference of the streams at its input (the layer also corrects the
     * error that reached it), and the dense heads.
     */
    public static LayerTargets advanceDense(ReferenceModel denseModel, int layer, ResidualStreams denseStreams,
            ResidualStreams bundleStreams, boolean fitted) {
        int sequences = denseStreams.sequences();
        float[][] outputs = fitted ? new float[sequences][] : null;
        float[][] heads = fitted ? new float[sequences][] : null;
        for (int s = 0; s < sequences; s++) {
            float[] stream = denseStreams.get(s);
            float[] before = fitted ? stream.clone() : null;
            ReferenceModel.LayerStep step = denseModel.runLayer(layer, stream, denseStreams.length(s));
            denseStreams.put(s, stream);
            if (fitted) {
                float[] bundleStream = bundleStreams.get(s);
                float[] target = step.attentionOutput();
                for (int i = 0; i < target.length; i++) {
                    target[i] += before[i] - bundleStream[i];
                }
                outputs[s] = target;
                heads[s] = step.attentionHeads();
            }
        }
        return fitted ? new LayerTargets(outputs, heads) : null;
    }

    /** Whether transfer fits layers of {@code kind}: it fits GLA layers to the dense attention; softmax kinds keep the source's. */
    public static boolean fits(LayerKind kind) {
        return switch (kind) {
            case GatedLinearLayer linear -> true;
            case HybridLayer hybrid -> true;
            case SoftmaxLayer softmax -> false;
            case SlidingWindowLayer window -> false;
        };
    }

    /** Whether {@code config} has a layer transfer fits. */
    public static boolean hasLayersToFit(ModelConfig config) {
        return LayerKind.of(config).stream().anyMatch(AttentionTransfer::fits);
    }

    /** The held-out sequences: a seeded choice of {@code heldOutShare} of them, none when there is only one. */
    private static List<Integer> heldOut(int count, TransferOptions options) {
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

    private ReferenceModel withLayer(ReferenceModel model, int layer) {
        try (ModelDescription current = derived()) {
            return model.withLayer(layer, current);
        }
    }

    /** {@code Σ||attention output - target||² / Σ||target||²} over {@code indices}, without advancing the streams. */
    private static double error(ReferenceModel model, int layer, ResidualStreams streams, float[][] targets, List<Integer> indices) {
        double residual = 0;
        double total = 0;
        for (int s : indices) {
            float[] output = model.runAttention(layer, streams.copy(s), streams.length(s)).attentionOutput();
            for (int i = 0; i < output.length; i++) {
                double difference = output[i] - targets[s][i];
                residual += difference * difference;
                total += (double) targets[s][i] * targets[s][i];
            }
        }
        return total == 0 ? 0 : residual / total;
    }

    /**
     * Step 1 of a GLA layer: for each key/value head the grid decay whose normed GLA heads best explain the dense heads
     * linearly: every other grid point first, then the two between the best and its neighbours. The gate becomes input-independent: {@code gk_proj.1.weight} zero,
     * the decays in its bias. Returns the decay of every key channel.
     */
    private double[] fitDecays(ReferenceModel model, int layer, ResidualStreams streams, float[][] targetHeads) {
        int keyValueHeads = config.keyValueHeadCount();
        int d = config.headDimension();
        float[] headNorm = bundle.tensor(LayerTensor.HEAD_OUTPUT_NORM.name(layer)).toFloats();
        List<GatedLinearInputs> inputs = new ArrayList<>();
        List<float[]> targets = new ArrayList<>();
        for (int s : scoringSequences(streams)) {
            int count = streams.length(s);
            inputs.add(model.gatedLinearInputs(layer, model.attentionInput(layer, streams.copy(s), count), count));
            targets.add(targetHeads[s]);
        }
        double[] channelDecays = new double[keyValueHeads * d];
        for (int keyHead = 0; keyHead < keyValueHeads; keyHead++) {
            double[] scores = new double[DECAY_GRID.length];
            Arrays.fill(scores, Double.NaN);
            int best = -1;
            for (int index = 0; index < DECAY_GRID.length; index += 2) {
                best = better(inputs, targets, headNorm, keyHead, scores, index, best);
            }
            int coarse = best;
            for (int index : new int[] {coarse - 1, coarse + 1}) {
                if (index >= 0 && index < DECAY_GRID.length) {
                    best = better(inputs, targets, headNorm, keyHead, scores, index, best);
                }
            }
            Arrays.fill(channelDecays, keyHead * d, (keyHead + 1) * d, DECAY_GRID[best]);
        }
        float[] bias = new float[keyValueHeads * d];
        for (int channel = 0; channel < bias.length; channel++) {
            bias[channel] = decayBias(channelDecays[channel], config.gateLogitNormalizer());
        }
        replace(LayerTensor.DECAY_GATE_UP_WEIGHT.name(layer), new float[keyValueHeads * d * config.gateLowRankDimension()]);
        replace(LayerTensor.DECAY_GATE_UP_BIAS.name(layer), bias);
        return channelDecays;
    }

    /**
     * Step 1 of a hybrid layer: its feature directions drawn around its own query-key pairs ({@link FeatureProposal}), then
     * for each query head the grid β whose outputs come closest to the dense heads on the scoring tokens. β = 0, the
     * layer's sliding window alone, is the first point and wins ties, so no head is made worse than its window on them.
     * Returns each head's β.
     */
    private double[] fitLinearBranch(ReferenceModel model, int layer, ResidualStreams streams, float[][] targetHeads) {
        int heads = config.headCount();
        int d = config.headDimension();
        List<Integer> scoring = scoringSequences(streams);
        drawFeatures(model, layer, streams, scoring);
        double[][] errors = new double[LINEAR_SCALE_GRID.length][heads];
        for (int index = 0; index < LINEAR_SCALE_GRID.length; index++) {
            float[] candidate = new float[heads];
            Arrays.fill(candidate, (float) LINEAR_SCALE_GRID[index]);
            replace(LayerTensor.LINEAR_SCALE.name(layer), candidate);
            ReferenceModel scored = withLayer(model, layer);
            for (int s : scoring) {
                float[] output = scored.runAttention(layer, streams.copy(s), streams.length(s)).attentionHeads();
                for (int i = 0; i < output.length; i++) {
                    double difference = output[i] - targetHeads[s][i];
                    errors[index][(i / d) % heads] += difference * difference;
                }
            }
        }
        double[] chosen = new double[heads];
        float[] scales = new float[heads];
        for (int head = 0; head < heads; head++) {
            int best = 0;
            for (int index = 1; index < LINEAR_SCALE_GRID.length; index++) {
                best = errors[index][head] < errors[best][head] ? index : best;
            }
            chosen[head] = LINEAR_SCALE_GRID[best];
            scales[head] = (float) chosen[head];
        }
        replace(LayerTensor.LINEAR_SCALE.name(layer), scales);
        return chosen;
    }

    /** The training sequences step 1 scores on: from the first, until {@link #STEP_ONE_SCORING_TOKENS} tokens are reached. */
    private List<Integer> scoringSequences(ResidualStreams streams) {
        List<Integer> scoring = new ArrayList<>();
        int tokens = 0;
        for (int s : training) {
            if (tokens >= STEP_ONE_SCORING_TOKENS) {
                break;
            }
            scoring.add(s);
            tokens += streams.length(s);
        }
        return scoring;
    }

    /** Replaces a hybrid layer's feature directions and biases with ones drawn around the pairs of the scoring sequences. */
    private void drawFeatures(ReferenceModel model, int layer, ResidualStreams streams, List<Integer> scoring) {
        HybridLayer hybrid = (HybridLayer) LayerKind.of(config, layer);
        FeatureProposal proposal = new FeatureProposal(config.headDimension());
        for (int s : scoring) {
            int count = streams.length(s);
            ReferenceModel.QueriesAndKeys rotated = model.rotatedQueriesAndKeys(layer, model.attentionInput(layer, streams.copy(s), count), count);
            proposal.addSequence(rotated.queries(), rotated.keys(), count, config.headCount(), config.keyValueHeadCount(), hybrid.window(), hybrid.sinks());
        }
        HybridRecurrence.Features features = proposal.draw(AttentionKind.HYBRID_FEATURES, options.seed() * 31 + layer);
        replace(LayerTensor.FEATURE_MAP.name(layer), features.directions());
        replace(LayerTensor.FEATURE_BIAS.name(layer), features.biases());
        progress.accept(String.format(Locale.ROOT, "attention transfer: layer %d features drawn around %d query-key pairs", layer, proposal.pairs()));
    }

    /** Scores grid point {@code index} for one head; returns it when it beats {@code best} (ties keep the earlier point). */
    private int better(List<GatedLinearInputs> inputs, List<float[]> targets, float[] headNorm, int keyHead, double[] scores, int index, int best) {
        scores[index] = proxyScore(inputs, targets, headNorm, keyHead, DECAY_GRID[index]);
        return best < 0 || scores[index] < scores[best] ? index : best;
    }

    /** How well the normed outputs of one key/value head with decay {@code decay} linearly explain its dense heads: the residual share. */
    private double proxyScore(List<GatedLinearInputs> inputs, List<float[]> targetHeads, float[] headNorm, int keyHead, double decay) {
        int heads = config.headCount();
        int keyValueHeads = config.keyValueHeadCount();
        int d = config.headDimension();
        int group = heads / keyValueHeads;
        int width = group * d;
        NormalEquations equations = new NormalEquations(width, width);
        for (int i = 0; i < inputs.size(); i++) {
            GatedLinearInputs base = inputs.get(i);
            int count = base.count();
            float[] decays = new float[base.decays().length];
            Arrays.fill(decays, (float) decay);
            float[] output = new float[count * heads * d];
            GatedLinearRecurrence.run(new GatedLinearInputs(base.queries(), base.keys(), base.values(), decays, count), heads, keyValueHeads, d, keyHead,
                    new float[d * d], output);
            float[] features = groupSlice(Normalization.rms(output, count * heads, headNorm, config.normEpsilon()), count, keyHead, group, d, heads);
            equations.add(features, groupSlice(targetHeads.get(i), count, keyHead, group, d, heads), count);
        }
        double total = equations.centredTargetSumOfSquares();
        return total == 0 ? 0 : equations.residualSumOfSquares(SCORING_PENALTY * equations.meanVariance()) / total;
    }

    /** Up to {@link #PENALTY_SCORING_COLUMNS} output columns, evenly spread. */
    static int[] scoringColumns(int hidden) {
        int count = Math.min(hidden, PENALTY_SCORING_COLUMNS);
        int[] columns = new int[count];
        for (int c = 0; c < count; c++) {
            columns[c] = (int) ((long) c * hidden / count);
        }
        return columns;
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
    private double fitReadout(ReferenceModel model, int layer, ResidualStreams streams, float[][] targets) {
        int features = Math.toIntExact(LayerTensor.OUTPUT_WEIGHT.shape(config, config.layer(layer).kind()).columns());
        int hidden = config.hiddenSize();
        String site = SpikeSites.site(LayerTensor.OUTPUT_WEIGHT, layer);
        NormalEquations equations = new NormalEquations(features, hidden);
        for (int s : training) {
            int count = streams.length(s);
            equations.add(asProjectionSees(site, model.runAttention(layer, streams.copy(s), count).attentionHeads(), count), targets[s], count);
        }
        double chosen = 1e-4;
        if (!heldOut.isEmpty()) {
            // λ is chosen on a spread of output columns: each column's fit is its own, and the choice needs no more.
            int[] columns = scoringColumns(hidden);
            List<float[]> heldOutFeatures = new ArrayList<>();
            for (int s : heldOut) {
                heldOutFeatures.add(asProjectionSees(site, model.runAttention(layer, streams.copy(s), streams.length(s)).attentionHeads(), streams.length(s)));
            }
            double scale = equations.meanVariance();
            double bestError = Double.POSITIVE_INFINITY;
            for (double penalty : RIDGE_PENALTIES) {
                NormalEquations.Solution solution = equations.solve(penalty * scale, columns);
                double error = 0;
                for (int i = 0; i < heldOut.size(); i++) {
                    int s = heldOut.get(i);
                    int count = streams.length(s);
                    float[] predicted = solution.predict(heldOutFeatures.get(i), count);
                    for (int t = 0; t < count; t++) {
                        for (int c = 0; c < columns.length; c++) {
                            double difference = predicted[t * columns.length + c] - targets[s][t * hidden + columns[c]];
                            error += difference * difference;
                        }
                    }
                }
                if (error < bestError) {
                    bestError = error;
                    chosen = penalty;
                }
            }
            for (int i = 0; i < heldOut.size(); i++) {
                equations.add(heldOutFeatures.get(i), targets[heldOut.get(i)], streams.length(heldOut.get(i)));
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
        TensorView current = fitted.containsKey(biasName) ? fitted.get(biasName) : bundle.tensor(biasName);
        fitted.put(biasName, StoredForm.like(current, bias));
        return chosen;
    }

    /**
     * Step 3: Adam on the q/k projections and the decay gate of one layer, the readout frozen, on the
     * training sequences; the new values replace the old ones (q/k quantized again as the bundle stores them).
     */
    private void fineTune(ReferenceModel model, int layer, ResidualStreams streams, float[][] targets) {
        if (config.qkNorm()) {
            throw new InvalidOptionException("adam-steps", "attention transfer's Adam step does not handle q/k norms (Qwen3) yet: use 0");
        }
        List<GatedLinearLayerFit.Sequence> data = new ArrayList<>();
        for (int s : training) {
            int count = streams.length(s);
            float[] normed = model.attentionInput(layer, streams.copy(s), count);
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

    /** New values for an existing tensor, kept as the bundle will store them (int8 with the bundle's group, or its float type). */
    private void replace(String name, float[] values) {
        TensorView stored = StoredForm.like(bundle.tensor(name), values);
        fitted.put(name, stored);
        if (stored instanceof ScaledInt8Tensor) {
            layerQuantizationErrors.put(name, StoredForm.relativeError(stored, values));
        }
    }

    private static double[] decayGrid() {
        double[] grid = new double[29];
        for (int i = 0; i < grid.length; i++) {
            grid[i] = 1 - Math.pow(2, -(1 + 0.5 * i));
        }
        return grid;
    }
}
