package dev.spikeconv.converter.calibration;

import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.converter.reference.ResidualStreams;
import dev.spikeconv.converter.reference.SpikingSiteHooks;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.converter.transfer.AttentionTransfer;
import dev.spikeconv.converter.transfer.LayerTransfer;
import dev.spikeconv.converter.transfer.TransferOptions;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Calibrate's layer-by-layer pass (the sequential pipeline of GPTQ and llm-compressor): the residual streams of every
 * calibration sequence, {@code [tokens, hidden]} per model, advance one layer at a time through the dense model and
 * the bundle in the Java reference engine, weights read as stored. At a GLA layer attention transfer fits the bundle's
 * layer to the dense model's output from those streams; then the bundle's streams advance through the fitted layer
 * while its spiking sites' inputs are histogrammed. Every weight is read once per pass (plus the re-runs of the layer
 * being fitted), and the pass holds the streams, one layer's targets and the fitted tensors. A checkpoint after every
 * few layers lets a killed run continue.
 */
final class CalibrationPass {
    /** Residual streams beyond this many bytes per model go to a file beside the checkpoint. */
    static final long STREAM_MEMORY_LIMIT = 1L << 30;

    /** What the pass found: the config and tensors transfer fitted, its per-layer reports, and the statistics gathered. */
    record Result(ModelConfig config, Map<String, TensorView> fitted, List<LayerTransfer> transfers, CalibrationStatistics statistics) {}

    private CalibrationPass() {}

    /**
     * Runs the pass over {@code sequences}. {@code dense} is the transfer's target (null: no transfer); statistics are
     * gathered at every spiking site when {@code gatherStatistics}, bound to {@code binding}.
     */
    static Result run(ModelDescription bundle, ModelDescription dense, List<int[]> sequences, CalibrationOptions options, boolean gatherStatistics,
            CalibrationCheckpoint.Binding binding, CalibrationProgress progress) throws IOException {
        ModelConfig config = bundle.config();
        int layers = config.layerCount();
        int[] lengths = sequences.stream().mapToInt(sequence -> sequence.length).toArray();
        AttentionTransfer transfer = dense == null ? null : AttentionTransfer.start(bundle, dense.config(), sequences.size(), options.transfer(),
                progress::stage);
        CalibrationStatistics statistics = new CalibrationStatistics(binding.bundleDigest(), binding.tokenDigest(),
                gatherStatistics ? SpikeSites.spikingSites(config) : List.of());
        Path spillFolder = options.checkpointFile().toAbsolutePath().getParent();
        try (ResidualStreams bundleStreams = ResidualStreams.create(lengths, config.hiddenSize(), STREAM_MEMORY_LIMIT, spillFolder);
                ResidualStreams denseStreams = ResidualStreams.create(dense == null ? new int[0] : lengths, config.hiddenSize(), STREAM_MEMORY_LIMIT,
                        spillFolder)) {
            int firstLayer = 0;
            Optional<CalibrationCheckpoint.Resumed> resumed = CalibrationCheckpoint.read(options.checkpointFile(), binding, bundleStreams, denseStreams,
                    progress);
            if (resumed.isPresent()) {
                firstLayer = resumed.get().layersDone();
                statistics = resumed.get().statistics();
                if (transfer != null) {
                    transfer.resume(resumed.get().fitted(), resumed.get().reports());
                }
                progress.stage("resuming calibration after layer " + firstLayer + " of " + layers);
            }
            ModelDescription current = transfer != null ? transfer.derived() : bundle;
            ReferenceModel bundleModel = ReferenceModel.load(current);
            ReferenceModel denseModel = dense == null ? null : ReferenceModel.load(dense);
            if (resumed.isEmpty()) {
                for (int s = 0; s < sequences.size(); s++) {
                    bundleStreams.put(s, bundleModel.embed(sequences.get(s)));
                    if (denseModel != null) {
                        denseStreams.put(s, denseModel.embed(sequences.get(s)));
                    }
                }
            }
            SpikingSiteHooks hooks = gatherStatistics ? statisticsHooks(config, statistics) : SpikingSiteHooks.NONE;
            for (int layer = firstLayer; layer < layers; layer++) {
                progress.stage(String.format(Locale.ROOT, "layer %d of %d: %s", layer + 1, layers, describe(transfer, layer, gatherStatistics)));
                if (denseModel != null) {
                    AttentionTransfer.LayerTargets targets = AttentionTransfer.advanceDense(denseModel, layer, denseStreams, bundleStreams, transfer.fitsLayer(layer));
                    if (transfer.fitsLayer(layer)) {
                        bundleModel = transfer.fitLayer(layer, bundleModel, bundleStreams, targets);
                    }
                }
                for (int s = 0; s < sequences.size(); s++) {
                    float[] stream = bundleStreams.get(s);
                    bundleModel.runLayer(layer, stream, lengths[s], hooks);
                    bundleStreams.put(s, stream);
                }
                progress.step("layers", layer + 1, layers);
                if ((layer + 1) % options.checkpointEvery() == 0 && layer + 1 < layers) {
                    CalibrationCheckpoint.write(options.checkpointFile(), binding, layer + 1, bundleStreams, denseStreams, statistics,
                            transfer == null ? Map.of() : transfer.fitted(), transfer == null ? List.of() : transfer.reports());
                }
            }
            // A checkpoint's statistics count no sequence: they are whole only now.
            statistics.sequencesDone(sequences.size());
        }
        return transfer == null
                ? new Result(config, Map.of(), List.of(), statistics)
                : new Result(transfer.config(), transfer.fitted(), transfer.reports(), statistics);
    }

    private static String describe(AttentionTransfer transfer, int layer, boolean gatherStatistics) {
        String models = transfer == null ? "bundle" : "dense model and bundle";
        String work = transfer != null && transfer.fitsLayer(layer) ? ", attention transfer" : "";
        return models + work + (gatherStatistics ? ", statistics" : "");
    }

    /** Hooks that histogram each shared input once, for every site of its group. */
    private static SpikingSiteHooks statisticsHooks(ModelConfig config, CalibrationStatistics statistics) {
        Map<String, List<String>> groups = new HashMap<>();
        SpikeSites.sharedInputGroups(config).forEach(group -> groups.put(group.getFirst(), group));
        return new SpikingSiteHooks() {
            @Override
            public void input(String site, float[] activations, int tokens, int width) {
                List<String> group = groups.get(site);
                if (group != null) {
                    statistics.addShared(group, activations, tokens, width);
                }
            }
        };
    }

    /** The settings that shape the pass's state: a checkpoint made under others is not resumed. */
    static String settings(CalibrationOptions options, boolean transfer, boolean gatherStatistics, String version) {
        TransferOptions steps = options.transfer();
        return String.format(Locale.ROOT, "version=%s;sequence_length=%d;transfer=%s;statistics=%s", version, options.sequenceLength(),
                transfer ? String.format(Locale.ROOT, "decay:%s,readout:%s,adam:%d,learning_rate:%s,held_out:%s,seed:%d", steps.fitDecay(), steps.fitReadout(),
                        steps.adamSteps(), steps.learningRate(), steps.heldOutShare(), steps.seed()) : "none", gatherStatistics);
    }
}
