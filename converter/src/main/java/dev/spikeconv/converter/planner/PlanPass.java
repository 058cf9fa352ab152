package dev.spikeconv.converter.planner;

import dev.spikeconv.converter.calibration.CalibrationProgress;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.converter.reference.ResidualStreams;
import dev.spikeconv.converter.transfer.AttentionTransfer;
import dev.spikeconv.converter.verify.DistanceMeasure;
import dev.spikeconv.converter.verify.VerifyReport;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The layer-by-layer passes of {@code spikeconv plan} over the dense model and a plan's model, both in the Java reference
 * engine with weights as stored (no quantization, no spikes: a plan scores attention kinds). A plan's model is the dense
 * checkpoint with its GLA layers added and fitted by attention transfer, every other layer a sliding window. A pass
 * advances the residual streams of the fitting and the scoring sequences one layer at a time, as calibrate does; at a
 * candidate layer it branches: the layer becomes GLA, is fitted on the plan's own streams, and the scoring sequences run
 * through the layers above it to the logits, compared with the dense model's. Candidates thus cost one fit and the layers
 * above them, not a calibration each.
 */
final class PlanPass implements AutoCloseable {
    /** Residual streams beyond this many bytes per set go to a file in the spill folder. */
    private static final long STREAM_MEMORY_LIMIT = 1L << 30;
    /** The dense model's logits of the scoring tokens beyond this many bytes go to a file: a 150k vocabulary makes them large. */
    static final long LOGIT_MEMORY_LIMIT = 256L << 20;

    /**
     * How a plan's model did on the scoring tokens: the mean KL to the dense model, and the NLL of the tokens whose previous
     * occurrence lies only beyond the local window, the dense model's beside it (verify's long-range split).
     */
    record Score(double meanKullbackLeibler, VerifyReport.Bucket longRange) {}

    /** A candidate measured in a pass: the plan's score with {@code layer} made {@code kind}. */
    record Branch(int layer, LayerKind kind, Score score) {}

    /** A branch with every tensor fitted for it: what the plan takes on when the search chooses that branch. */
    record Fitted(Branch branch, Map<String, TensorView> tensors) {}

    /**
     * A pass's outcome: the plan's own score, its fitted tensors, the candidates' branches (layer by layer, kind by kind),
     * for each kind the branch of least KL within the limit with its tensors, and the layer fits made. Converting a layer to a
     * given kind saves the same cache whichever layer it is, so the search's choice is always one of these; the tensors of
     * the other branches (an o_proj each) are not kept.
     */
    record Result(Score score, Map<String, TensorView> fitted, List<Branch> branches, Map<LayerKind, Fitted> bestPerKind, int layerFits) {}

    private final ModelDescription dense;
    private final ReferenceModel denseModel;
    private final PlanOptions options;
    private final List<int[]> fitting;
    private final List<int[]> scoring;
    /** The dense model's logits of each scoring sequence, {@code [tokens, vocabulary]}: every plan is compared with them. */
    private final ResidualStreams denseLogits;
    private final double[][] locality;
    private final Path spillFolder;
    private final CalibrationProgress progress;

    private PlanPass(ModelDescription dense, ReferenceModel denseModel, PlanOptions options, List<int[]> fitting, List<int[]> scoring,
            ResidualStreams denseLogits, double[][] locality, Path spillFolder, CalibrationProgress progress) {
        this.dense = dense;
        this.denseModel = denseModel;
        this.options = options;
        this.fitting = fitting;
        this.scoring = scoring;
        this.denseLogits = denseLogits;
        this.locality = locality;
        this.spillFolder = spillFolder;
        this.progress = progress;
    }

    /**
     * Runs the dense model once over the scoring sequences: keeps its logits (the reference the plans are compared with,
     * computed once rather than for every branch) and, at every layer, each head's attention mass inside sinks +
     * {@code localWindow}, the zero-cost score.
     */
    static PlanPass start(ModelDescription dense, PlanOptions options, List<int[]> fitting, List<int[]> scoring, Path spillFolder,
            CalibrationProgress progress) throws IOException {
        ModelConfig config = dense.config();
        ReferenceModel denseModel = ReferenceModel.load(dense);
        double[][] locality = new double[config.layerCount()][];
        ResidualStreams denseLogits = ResidualStreams.create(lengths(scoring), config.vocabularySize(), LOGIT_MEMORY_LIMIT, spillFolder);
        try (ResidualStreams denseFinal = ResidualStreams.create(lengths(scoring), config.hiddenSize(), STREAM_MEMORY_LIMIT, spillFolder)) {
            LayerKind probe = new SlidingWindowLayer(options.localWindow(), options.sinks());
            long tokens = 0;
            for (int s = 0; s < scoring.size(); s++) {
                denseFinal.put(s, denseModel.embed(scoring.get(s)));
                tokens += scoring.get(s).length;
            }
            for (int layer = 0; layer < config.layerCount(); layer++) {
                progress.stage("dense model, layer " + (layer + 1) + " of " + config.layerCount() + ": attention locality");
                double[] mass = new double[config.headCount()];
                for (int s = 0; s < scoring.size(); s++) {
                    float[] stream = denseFinal.get(s);
                    int count = scoring.get(s).length;
                    if (!LayerKind.of(config, layer).keepsState()) {
                        double[] sequenceMass = denseModel.attentionMassWithin(layer, stream, count, probe);
                        for (int head = 0; head < mass.length; head++) {
                            mass[head] += sequenceMass[head];
                        }
                    }
                    denseModel.runLayer(layer, stream, count);
                    denseFinal.put(s, stream);
                }
                for (int head = 0; head < mass.length; head++) {
                    mass[head] /= tokens;
                }
                locality[layer] = mass;
                progress.step("dense layers", layer + 1, config.layerCount());
            }
            for (int s = 0; s < scoring.size(); s++) {
                denseLogits.put(s, denseModel.logits(denseFinal.get(s), scoring.get(s).length));
            }
        }
        catch (IOException | RuntimeException e) {
            denseLogits.close();
            throw e;
        }
        return new PlanPass(dense, denseModel, options, fitting, scoring, denseLogits, locality, spillFolder, progress);
    }

    /** Per layer, each head's share of attention inside sinks + the local window, averaged over the scoring tokens. */
    double[][] locality() {
        return Arrays.stream(locality).map(double[]::clone).toArray(double[][]::new);
    }

    /** The config of the plan that makes layers the kinds {@code converted} gives them, every other layer {@code window}, spikes off. */
    ModelConfig config(Map<Integer, LayerKind> converted, SlidingWindowLayer window) {
        ModelConfig source = dense.config();
        List<LayerAttention> layers = new ArrayList<>();
        for (int layer = 0; layer < source.layerCount(); layer++) {
            layers.add(converted.getOrDefault(layer, window).attention());
        }
        return source.toBuilder().architecture(Architecture.GLA_SWA).layers(layers).spike(SpikeSettings.OFF).build(options.source());
    }

    /**
     * One pass over {@code plan} (converted layers and their kinds) with every other layer {@code window}, starting from the
     * tensors {@code fitted} (fitted by earlier passes). With {@code refit} every converted layer is fitted afresh as the pass
     * reaches it, as calibrate does; otherwise the plan's layers keep {@code fitted}, and each layer of {@code candidates} is
     * measured as a branch for each of the options' kinds; branches whose KL exceeds {@code divergenceLimit} cannot be chosen.
     */
    Result run(Map<Integer, LayerKind> plan, SlidingWindowLayer window, Map<String, TensorView> fitted, Set<Integer> candidates, boolean refit,
            double divergenceLimit) throws IOException {
        if (refit && !candidates.isEmpty()) {
            throw new IllegalArgumentException("a refitting pass measures no candidates: the plan's layers above them are not fitted yet");
        }
        int layers = dense.config().layerCount();
        AttentionTransfer planTransfer = transfer(plan, window, refit ? Map.of() : fitted);
        List<Branch> branches = new ArrayList<>();
        Map<LayerKind, Fitted> bestPerKind = new LinkedHashMap<>();
        int layerFits = 0;
        try (ResidualStreams denseFitting = ResidualStreams.create(lengths(fitting), dense.config().hiddenSize(), STREAM_MEMORY_LIMIT, spillFolder);
                ResidualStreams planFitting = ResidualStreams.create(lengths(fitting), dense.config().hiddenSize(), STREAM_MEMORY_LIMIT, spillFolder);
                ResidualStreams planScoring = ResidualStreams.create(lengths(scoring), dense.config().hiddenSize(), STREAM_MEMORY_LIMIT, spillFolder)) {
            ReferenceModel model = ReferenceModel.load(planTransfer.derived());
            for (int s = 0; s < fitting.size(); s++) {
                denseFitting.put(s, denseModel.embed(fitting.get(s)));
                planFitting.put(s, model.embed(fitting.get(s)));
            }
            for (int s = 0; s < scoring.size(); s++) {
                planScoring.put(s, model.embed(scoring.get(s)));
            }
            for (int layer = 0; layer < layers; layer++) {
                boolean fitHere = refit && plan.containsKey(layer);
                boolean branchHere = candidates.contains(layer);
                progress.stage(String.format(Locale.ROOT, "layer %d of %d%s%s", layer + 1, layers, fitHere ? ": fitting its " + plan.get(layer) : "",
                        branchHere ? ": measuring it as " + options.kinds().stream().map(Object::toString).collect(Collectors.joining(", ")) : ""));
                AttentionTransfer.LayerTargets targets = AttentionTransfer.advanceDense(denseModel, layer, denseFitting, planFitting, fitHere || branchHere);
                if (branchHere) {
                    for (LayerKind kind : options.kinds()) {
                        Fitted measured = branch(plan, window, planTransfer.fitted(), layer, kind, planFitting, planScoring, targets);
                        double divergence = measured.branch().score().meanKullbackLeibler();
                        Fitted best = bestPerKind.get(kind);
                        if (divergence <= divergenceLimit && (best == null || divergence < best.branch().score().meanKullbackLeibler())) {
                            bestPerKind.put(kind, measured);
                        }
                        branches.add(measured.branch());
                        layerFits++;
                    }
                }
                if (fitHere) {
                    model = planTransfer.fitLayer(layer, model, planFitting, targets);
                    layerFits++;
                }
                advance(model, layer, planFitting);
                advance(model, layer, planScoring);
                progress.step("layers", layer + 1, layers);
            }
            return new Result(score(model, planScoring, layers, false), planTransfer.fitted(), branches, bestPerKind, layerFits);
        }
    }

    /** {@code layer} made {@code kind} in {@code plan} and fitted on the plan's streams at its input; scored through the layers above it. */
    private Fitted branch(Map<Integer, LayerKind> plan, SlidingWindowLayer window, Map<String, TensorView> fitted, int layer, LayerKind kind,
            ResidualStreams planFitting, ResidualStreams planScoring, AttentionTransfer.LayerTargets targets) throws IOException {
        Map<Integer, LayerKind> extended = new TreeMap<>(plan);
        extended.put(layer, kind);
        AttentionTransfer transfer = transfer(extended, window, fitted);
        ReferenceModel model = transfer.fitLayer(layer, ReferenceModel.load(transfer.derived()), planFitting, targets);
        return new Fitted(new Branch(layer, kind, score(model, planScoring, layer, true)), transfer.fitted());
    }

    /**
     * Attention transfer over the plan {@code converted} with every other layer {@code window}, holding {@code fitted} already.
     * Converted layers start as a conversion starts them: with their kind's new tensors.
     */
    private AttentionTransfer transfer(Map<Integer, LayerKind> converted, SlidingWindowLayer window, Map<String, TensorView> fitted) {
        ModelConfig config = config(converted, window);
        Map<String, TensorView> added = new LinkedHashMap<>();
        converted.forEach((layer, kind) -> {
            AttentionKind attention = kind.attention().kind();
            kind.initialTensors(config, layer).forEach((tensor, values) -> added.put(tensor.name(layer),
                    StoredTensor.ofFloats(tensor.name(layer), tensor.shape(config, attention), values)));
        });
        AttentionTransfer transfer = AttentionTransfer.start(dense.derive(config, added), dense.config(), fitting.size(), options.transfer(),
                message -> { });
        transfer.resume(fitted, List.of());
        return transfer;
    }

    private static void advance(ReferenceModel model, int layer, ResidualStreams streams) {
        for (int s = 0; s < streams.sequences(); s++) {
            float[] stream = streams.get(s);
            model.runLayer(layer, stream, streams.length(s));
            streams.put(s, stream);
        }
    }

    /**
     * The mean KL from the dense model's next-token distributions to {@code model}'s over every scoring token, and the
     * long-range split, the streams run from layer {@code from} to the logits ({@code copy}: on copies, leaving
     * {@code streams} as they are).
     */
    private Score score(ReferenceModel model, ResidualStreams streams, int from, boolean copy) throws IOException {
        int vocabulary = dense.config().vocabularySize();
        int layers = dense.config().layerCount();
        DistanceMeasure distance = new DistanceMeasure(Arrays.stream(lengths(scoring)).sum(), 0, options.localWindow(), vocabulary);
        int start = 0;
        for (int s = 0; s < streams.sequences(); s++) {
            int count = streams.length(s);
            float[] stream = copy ? streams.copy(s) : streams.get(s);
            for (int layer = from; layer < layers; layer++) {
                model.runLayer(layer, stream, count);
            }
            distance.add(start, scoring.get(s), denseLogits.get(s), model.logits(stream, count), vocabulary);
            start += count;
        }
        return new Score(distance.distance().meanKl(), distance.longRange().onlyBeyondHorizon());
    }

    private static int[] lengths(List<int[]> sequences) {
        return sequences.stream().mapToInt(sequence -> sequence.length).toArray();
    }

    /** The longest scoring sequence: windows at least this long are softmax on the scoring data. */
    int longestScoringSequence() {
        return scoring.stream().mapToInt(sequence -> sequence.length).max().orElse(0);
    }

    /** Every layer of the source. */
    Set<Integer> allLayers() {
        Set<Integer> all = new TreeSet<>();
        for (int layer = 0; layer < dense.config().layerCount(); layer++) {
            all.add(layer);
        }
        return all;
    }

    @Override
    public void close() throws IOException {
        denseLogits.close();
    }
}
