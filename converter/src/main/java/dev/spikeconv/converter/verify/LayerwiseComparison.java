package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.MemoryBudget;
import dev.spikeconv.converter.execution.TokenData;
import dev.spikeconv.converter.hardware.ModelFootprint;
import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.converter.reference.ResidualStreams;
import dev.spikeconv.converter.reference.SpikingSiteHooks;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.converter.spiking.SpikeStatistics;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.function.Consumer;

/**
 * The dense model, the bundle and the bundle without its recurrent layers' attention (the baseline), advanced together
 * one layer at a time over every evaluation sequence (the Java reference engine, weights read as stored): each layer's
 * weights are read once per model, and what a run holds is three residual streams {@code [tokens, hidden]}. Per layer it
 * measures the hidden-state cosine and both models' attention share; at the end, from the logits of one sequence at a
 * time, the distance of the distributions and the baseline's KL; along the way the bundle's spike activity.
 */
final class LayerwiseComparison {
    /** Residual streams beyond this many bytes per model go to a file. */
    static final long STREAM_MEMORY_LIMIT = 1L << 30;

    private LayerwiseComparison() {}

    /** Where the dense side comes from: a model run now (and maybe recorded), or a recording of an earlier run. */
    sealed interface DenseSide permits Live, Recorded {}

    record Live(ModelDescription model, ReferenceRecording.Writer recording) implements DenseSide {}

    record Recorded(ReferenceRecording recording) implements DenseSide {}

    record Result(double[] cosines, double[] attentionShares, double[] referenceAttentionShares, VerifyReport.Distance distance,
            VerifyReport.BeyondWindow beyondWindow, VerifyReport.LongRange longRange, BaselineResult baseline, List<SpikeStatistics> spikes) {}

    /** The baseline's distance to the dense model, its long-range split, and a name for the model it ran. */
    record BaselineResult(VerifyBaseline kind, String model, VerifyReport.Distance distance, VerifyReport.LongRange longRange) {}

    /** {@code baseline}: what runs beside the bundle, or null for nothing. */
    static Result run(ModelDescription bundle, DenseSide dense, int[] tokens, int sequenceLength, VerifyBaseline baseline, Path spillFolder,
            Consumer<String> progress) throws IOException {
        ModelConfig config = bundle.config();
        int layers = config.layerCount();
        int hidden = config.hiddenSize();
        int vocabulary = config.vocabularySize();
        List<int[]> sequences = TokenData.sequences(tokens, sequenceLength);
        int[] lengths = sequences.stream().mapToInt(sequence -> sequence.length).toArray();
        MemoryBudget.require("verify's layer-by-layer pass", passBytes(config, tokens.length, sequenceLength, baseline != null ? 3 : 2), "tokens");
        ReferenceModel bundleModel = ReferenceModel.load(bundle);
        ReferenceModel denseModel = dense instanceof Live live ? ReferenceModel.load(live.model()) : null;
        SlidingWindowLayer smallestWindow = smallestWindow(config);
        BaselineModel baselineRun = baseline == null ? null : baselineModel(baseline, bundleModel, denseModel, smallestWindow);
        ReferenceModel baselineModel = baselineRun == null ? null : baselineRun.model();
        String baselineName = baselineRun == null ? null : baselineRun.name();
        SequencedMap<String, SpikeStatistics> spikes = spikeStatistics(bundle);
        SpikingSiteHooks counting = new SpikingSiteHooks() {
            @Override
            public void input(String site, float[] activations, int count, int width) {
                SpikeStatistics statistics = spikes.get(site);
                if (statistics != null) {
                    statistics.add(activations, count, width);
                }
            }
        };
        double[] cosines = new double[layers];
        ShareSums bundleShares = new ShareSums(layers);
        ShareSums denseShares = new ShareSums(layers);
        try (ResidualStreams bundleStreams = ResidualStreams.create(lengths, hidden, STREAM_MEMORY_LIMIT, spillFolder);
                ResidualStreams denseStreams = ResidualStreams.create(denseModel == null ? new int[0] : lengths, hidden, STREAM_MEMORY_LIMIT, spillFolder);
                ResidualStreams baselineStreams = ResidualStreams.create(baselineModel == null ? new int[0] : lengths, hidden, STREAM_MEMORY_LIMIT, spillFolder)) {
            for (int s = 0; s < sequences.size(); s++) {
                bundleStreams.put(s, bundleModel.embed(sequences.get(s)));
                if (denseModel != null) {
                    denseStreams.put(s, denseModel.embed(sequences.get(s)));
                }
                if (baselineModel != null) {
                    baselineStreams.put(s, baselineModel.embed(sequences.get(s)));
                }
            }
            for (int layer = 0; layer < layers; layer++) {
                progress.accept(String.format(java.util.Locale.ROOT, "layer %d of %d: dense model, bundle%s", layer + 1, layers, baseline != null ? " and baseline" : ""));
                double cosineSum = 0;
                for (int s = 0; s < sequences.size(); s++) {
                    int count = lengths[s];
                    float[] bundleStream = bundleStreams.get(s);
                    ReferenceModel.LayerStep step = bundleModel.runLayer(layer, bundleStream, count, counting);
                    bundleStreams.put(s, bundleStream);
                    bundleShares.add(layer, step, count, hidden);
                    float[] denseStream;
                    if (denseModel != null) {
                        denseStream = denseStreams.get(s);
                        denseShares.add(layer, denseModel.runLayer(layer, denseStream, count), count, hidden);
                        denseStreams.put(s, denseStream);
                        if (((Live) dense).recording() != null) {
                            ((Live) dense).recording().hiddenStates(layer, s * sequenceLength, denseStream);
                        }
                    }
                    else {
                        denseStream = ((Recorded) dense).recording().hiddenStates(layer, s * sequenceLength, count);
                    }
                    cosineSum += cosineSum(denseStream, bundleStream, count, hidden);
                    if (baselineModel != null) {
                        float[] baselineStream = baselineStreams.get(s);
                        baselineModel.runLayer(layer, baselineStream, count);
                        baselineStreams.put(s, baselineStream);
                    }
                }
                cosines[layer] = cosineSum / tokens.length;
            }
            progress.accept("logits and distances");
            int window = config.layers().stream().mapToInt(attention -> attention.window()).max().orElse(0);
            int horizon = smallestWindow.window();
            DistanceMeasure distance = new DistanceMeasure(tokens.length, window, horizon, vocabulary);
            DistanceMeasure baselineDistance = baselineModel == null ? null : new DistanceMeasure(tokens.length, window, horizon, vocabulary);
            for (int s = 0; s < sequences.size(); s++) {
                int count = lengths[s];
                float[] referenceLogits;
                if (denseModel != null) {
                    referenceLogits = denseModel.logits(denseStreams.get(s), count);
                    if (((Live) dense).recording() != null) {
                        ((Live) dense).recording().logits(s * sequenceLength, referenceLogits);
                    }
                }
                else {
                    referenceLogits = ((Recorded) dense).recording().logits(s * sequenceLength, count);
                }
                distance.add(s * sequenceLength, sequences.get(s), referenceLogits, bundleModel.logits(bundleStreams.get(s), count), vocabulary);
                if (baselineModel != null) {
                    baselineDistance.add(s * sequenceLength, sequences.get(s), referenceLogits, baselineModel.logits(baselineStreams.get(s), count), vocabulary);
                }
            }
            double[] referenceShares = denseModel != null ? denseShares.shares() : ((Recorded) dense).recording().attentionShares();
            return new Result(cosines, bundleShares.shares(), referenceShares, distance.distance(), distance.beyondWindow(), distance.longRange(),
                    baselineModel == null ? null : new BaselineResult(baseline, baselineName, baselineDistance.distance(), baselineDistance.longRange()),
                    new ArrayList<>(spikes.values()));
        }
    }

    /** A baseline's model and how reports name it. */
    record BaselineModel(ReferenceModel model, String name) {}

    /**
     * The model {@code baseline} runs beside the bundle; {@code dense} may be null except for the all-SWA baseline, which
     * puts the dense model's attention over the bundle's smallest sliding window in the GLA layers' place.
     */
    static BaselineModel baselineModel(VerifyBaseline baseline, ReferenceModel bundleModel, ReferenceModel denseModel, SlidingWindowLayer smallestWindow) {
        return switch (baseline) {
            case WITHOUT_GLA_ATTENTION -> new BaselineModel(bundleModel.withoutRecurrentAttention(), "the bundle without GLA attention");
            case ALL_SWA -> {
                if (denseModel == null) {
                    throw new IllegalArgumentException("the all-SWA baseline needs the dense model's weights");
                }
                yield new BaselineModel(bundleModel.withRecurrentAttentionFrom(denseModel, smallestWindow),
                        "the bundle with dense " + smallestWindow + " attention in its GLA layers");
            }
        };
    }

    /**
     * The bundle's smallest sliding window with its sinks: where the long-range split falls and what the all-SWA baseline
     * runs; {@link RecurrenceMeasure#BUCKET_ENDS}[0] tokens without sinks when the bundle has no window.
     */
    static SlidingWindowLayer smallestWindow(ModelConfig config) {
        return config.layers().stream().filter(attention -> attention.kind().windowed()).min(java.util.Comparator.comparingInt(LayerAttention::window))
                .map(attention -> new SlidingWindowLayer(attention.window(), attention.sinks()))
                .orElse(new SlidingWindowLayer(RecurrenceMeasure.BUCKET_ENDS[0], 0));
    }

    /**
     * The heap of the pass: {@code models} residual streams (each in memory up to its limit), one layer's working set
     * and three sequences' logits (reference, bundle, baseline) with the distance's per-token arrays, plus slack.
     */
    static long passBytes(ModelConfig config, int tokens, int sequenceLength, int models) {
        int longest = Math.min(tokens, sequenceLength);
        long streams = models * (Math.min((long) tokens * config.hiddenSize() * Float.BYTES, STREAM_MEMORY_LIMIT) + 2L * longest * config.hiddenSize() * Float.BYTES);
        long logits = 4L * longest * config.vocabularySize() * Float.BYTES;
        return (24L << 20) + streams + ReferenceModel.layerBytes(config, longest) + logits;
    }

    /** One statistics object per spiking site of the bundle, under its own threshold. */
    private static SequencedMap<String, SpikeStatistics> spikeStatistics(ModelDescription bundle) {
        SequencedMap<String, SpikeStatistics> spikes = new LinkedHashMap<>();
        if (!bundle.config().spike().spiking()) {
            return spikes;
        }
        Map<String, SiteThreshold> thresholds = SpikeSites.thresholds(bundle);
        thresholds.forEach((site, threshold) -> spikes.put(site, new SpikeStatistics(site, threshold, bundle.config().spike(),
                ModelFootprint.timeSteps(bundle.config().spike()))));
        return spikes;
    }

    /** Σ over tokens of the cosine between two streams' rows. */
    private static double cosineSum(float[] first, float[] second, int count, int width) {
        double sum = 0;
        for (int t = 0; t < count; t++) {
            double dot = 0;
            double firstNorm = 0;
            double secondNorm = 0;
            for (int i = t * width; i < (t + 1) * width; i++) {
                dot += (double) first[i] * second[i];
                firstNorm += (double) first[i] * first[i];
                secondNorm += (double) second[i] * second[i];
            }
            sum += firstNorm == 0 || secondNorm == 0 ? 0 : dot / Math.sqrt(firstNorm * secondNorm);
        }
        return sum;
    }

    /** Mean over tokens of |attention| / (|attention| + |mlp|), per layer. */
    private static final class ShareSums {
        private final double[] sums;
        private final long[] counts;

        ShareSums(int layers) {
            sums = new double[layers];
            counts = new long[layers];
        }

        void add(int layer, ReferenceModel.LayerStep step, int count, int width) {
            for (int t = 0; t < count; t++) {
                double attention = norm(step.attentionOutput(), t * width, width);
                double mlp = norm(step.mlpOutput(), t * width, width);
                sums[layer] += attention + mlp == 0 ? 0 : attention / (attention + mlp);
                counts[layer]++;
            }
        }

        double[] shares() {
            double[] shares = new double[sums.length];
            for (int i = 0; i < shares.length; i++) {
                shares[i] = counts[i] == 0 ? 0 : sums[i] / counts[i];
            }
            return shares;
        }

        private static double norm(float[] values, int offset, int width) {
            double sum = 0;
            for (int i = offset; i < offset + width; i++) {
                sum += (double) values[i] * values[i];
            }
            return Math.sqrt(sum);
        }
    }
}
