package dev.spikeconv.converter.calibration;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.MemoryBudget;
import dev.spikeconv.converter.SpikeconvVersion;
import dev.spikeconv.converter.bundle.BundleConfig;
import dev.spikeconv.converter.bundle.BundleTransaction;
import dev.spikeconv.converter.bundle.ReferenceCheck;
import dev.spikeconv.converter.execution.TokenData;
import dev.spikeconv.converter.hardware.BundleTensorHashes;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.converter.transfer.AttentionTransfer;
import dev.spikeconv.converter.transfer.LayerTransfer;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.hf.SpikingBrainNames;
import dev.spikeconv.formats.io.FileHashes;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.TreeSet;

/**
 * Calibrates a bundle on real text (docs/design.md §4) in one bundle transaction: a layer-by-layer pass fits the GLA
 * layers to the dense reference (attention transfer) and gathers the statistics of every spiking site, thresholds are
 * chosen from them, a second pass measures the calibrated model, and the bundle is written once with
 * {@code calibration.json}. Both passes run the Java reference engine with weights as stored, so memory stays bounded
 * by the residual streams of the calibration tokens, whatever the model's size.
 */
public final class Calibrator {
    public static final String CALIBRATION_FILE = "calibration.json";
    public static final int FORMAT_VERSION = 1;

    private final CalibrationOptions options;
    private final CalibrationProgress progress;
    private final BundleTransaction transaction;

    private Calibrator(CalibrationOptions options, CalibrationProgress progress, BundleTransaction transaction) {
        this.options = options;
        this.progress = progress;
        this.transaction = transaction;
    }

    public static CalibrationReport run(CalibrationOptions options, CalibrationProgress progress) throws IOException {
        if (!Files.exists(options.bundle())) {
            throw new NoSuchFileException(options.bundle().toString(), null, "no such bundle folder");
        }
        if (!Files.isDirectory(options.bundle())) {
            throw InvalidInputException.forFile(options.bundle(), "is not a bundle folder: convert the checkpoint first");
        }
        try (BundleTransaction transaction = BundleTransaction.begin(options.bundle(), progress::warning)) {
            return new Calibrator(options, progress, transaction).run();
        }
    }

    private CalibrationReport run() throws IOException {
        Path bundlePath = transaction.bundle();
        try (ModelDescription bundle = CheckpointLoader.open(bundlePath)) {
            ModelConfig config = bundle.config();
            if (config.architecture() != Architecture.GLA_SWA) {
                throw InvalidInputException.forFile(options.bundle(), "is a " + config.architecture().id() + " checkpoint, not a bundle; convert it first");
            }
            boolean transfer = AttentionTransfer.hasLayersToFit(config) && options.transfer().enabled();
            if (transfer && options.reference() == null) {
                throw new InvalidOptionException("reference", "is needed: the bundle has GLA layers, and attention transfer fits them to the dense "
                        + "model the bundle was converted from (or choose transfer none)");
            }
            boolean chooseThresholds = config.spike().spiking() && options.method().choosesThresholds();
            if (options.statisticsOnly() && !config.spike().spiking()) {
                throw new InvalidOptionException("statistics-only", "the bundle's spikes are off: there are no thresholds to gather statistics for");
            }
            if (!transfer && !chooseThresholds && !options.statisticsOnly()) {
                throw new InvalidOptionException("method", config.spike().spiking()
                        ? "nothing to calibrate: thresholds are kept and there are no GLA layers to transfer"
                        : "nothing to calibrate: the bundle's spikes are off and it has no GLA layers to transfer");
            }
            if (transfer && (options.saveStatistics() != null || !options.merge().isEmpty())) {
                throw new InvalidOptionException(options.merge().isEmpty() ? "save-statistics" : "merge", "statistics are merged across runs on the same "
                        + "bundle state, and attention transfer changes it: calibrate with transfer first, then gather and merge with transfer none");
            }
            int[] tokens = TokenData.forModel(options.data(), options.tokenizer(), bundlePath, config.vocabularySize(), 0, options.tokens(), "calibrate");
            if (tokens.length < options.tokens()) {
                progress.warning(options.data() + " gives only " + tokens.length + " of the " + options.tokens() + " tokens asked for");
            }
            String tokenDigest = digest(tokens);
            List<int[]> sequences = TokenData.sequences(tokens, options.sequenceLength());
            int fittedLayers = 0;
            for (int layer = 0; transfer && layer < config.layerCount(); layer++) {
                fittedLayers += AttentionTransfer.fits(LayerKind.of(config, layer)) ? 1 : 0;
            }
            MemoryBudget.require("calibrate's layer-by-layer pass", CalibrationMemory.passBytes(config, sequences.stream().mapToInt(sequence -> sequence.length)
                    .toArray(), fittedLayers, bundle.tensor(LayerTensor.OUTPUT_WEIGHT.name(0)).byteSize()), "tokens");
            progress.stage("hashing the bundle's tensors");
            String bundleDigest = BundleTensorHashes.digest(BundleTensorHashes.of(bundlePath));
            boolean gatherStatistics = chooseThresholds || options.statisticsOnly();
            CalibrationCheckpoint.Binding binding = new CalibrationCheckpoint.Binding(bundleDigest, tokenDigest,
                    CalibrationPass.settings(options, transfer, gatherStatistics, SpikeconvVersion.get()));
            Map<String, String> referenceFiles = new LinkedHashMap<>();
            CalibrationPass.Result pass;
            if (transfer) {
                try (ModelDescription dense = CheckpointLoader.open(options.reference())) {
                    checkReference(dense, bundlePath, referenceFiles);
                    progress.stage("attention transfer and statistics on " + tokens.length + " tokens, layer by layer");
                    pass = CalibrationPass.run(bundle, dense, sequences, options, gatherStatistics, binding, progress);
                }
            }
            else {
                progress.stage("statistics on " + tokens.length + " tokens, layer by layer");
                pass = CalibrationPass.run(bundle, null, sequences, options, gatherStatistics, binding, progress);
            }
            CalibrationStatistics statistics = pass.statistics();
            if (options.saveStatistics() != null) {
                statistics.write(options.saveStatistics());
            }
            if (options.statisticsOnly()) {
                Files.deleteIfExists(options.checkpointFile());
                progress.stage("saved the statistics of " + statistics.sequences() + " sequences to " + options.saveStatistics());
                return new CalibrationReport(bundlePath, "statistics only", tokens.length, sequences.size(), List.of(), List.of(),
                        new CalibrationReport.Totals(0, 0, 0, 0, 0), null);
            }
            for (Path file : options.merge()) {
                statistics.merge(CalibrationStatistics.read(file), file);
            }
            SequencedMap<String, SiteThreshold> thresholds = chooseThresholds ? ThresholdPolicy.choose(statistics, config.spike(), options)
                    : new LinkedHashMap<>();
            Map<String, TensorView> edits = new LinkedHashMap<>(pass.fitted());
            List<String> changed = new ArrayList<>();
            new TreeSet<>(pass.fitted().keySet()).forEach(name -> changed.add(SpikingBrainNames.fromCanonical(name)));
            thresholds.forEach((site, threshold) -> thresholdTensors(site, threshold, edits, changed));
            ModelConfig calibratedConfig = pass.config();
            if (chooseThresholds) {
                SpikeSettings.Mode mode = options.method().isStatic() ? SpikeSettings.Mode.STATIC : SpikeSettings.Mode.DYNAMIC;
                SpikeSettings spike = config.spike();
                calibratedConfig = calibratedConfig.toBuilder().spike(new SpikeSettings(mode, spike.k(), spike.timeSteps(), spike.coding(), spike.exclude()))
                        .build(bundlePath);
            }
            CalibrationReport report;
            try (ModelDescription calibrated = bundle.derive(calibratedConfig, edits)) {
                report = CalibrationMeasurement.run(calibrated, bundlePath, sequences, pass.transfers(), options, progress);
            }
            edits.forEach(transaction::put);
            if (chooseThresholds) {
                transaction.removeWhere(name -> name.endsWith(SpikeSites.THRESHOLD_INTEGER_SUFFIX) || name.endsWith(SpikeSites.THRESHOLD_EXPONENT_SUFFIX)
                        || name.endsWith(SpikeSites.K_SUFFIX));
            }
            transaction.editConfig(edited -> configEdit(edited, pass.config().outputProjectionBias(), chooseThresholds, transfer, changed, pass.transfers()));
            transaction.addFile(CALIBRATION_FILE, staged -> JsonCalibration.write(report, options, tokenDigest, sequences,
                    BundleTensorHashes.digest(BundleTensorHashes.of(staged)), referenceFiles, changed));
            transaction.commit(progress);
            Files.deleteIfExists(options.checkpointFile());
            return report;
        }
    }

    /** Records the reference's file hashes; refuses a reference that is not the bundle's recorded source unless allowed. */
    private void checkReference(ModelDescription dense, Path bundlePath, Map<String, String> referenceFiles) throws IOException {
        progress.stage("hashing the reference checkpoint");
        referenceFiles.putAll(ReferenceCheck.check(bundlePath, options.reference(), dense, options.allowOtherReference(), progress::warning));
    }

    /** The tensors of one site's threshold, by canonical name, and their stored names in {@code changed}. */
    private void thresholdTensors(String site, SiteThreshold threshold, Map<String, TensorView> edits, List<String> changed) {
        String stored = SpikingBrainNames.fromCanonical(site);
        switch (threshold) {
            case SiteThreshold.Static fixed -> {
                String integers = site + SpikeSites.THRESHOLD_INTEGER_SUFFIX;
                String exponent = site + SpikeSites.THRESHOLD_EXPONENT_SUFFIX;
                edits.put(integers, StoredTensor.ofInts(integers, Shape.of(fixed.integers().length), fixed.integers()));
                edits.put(exponent, StoredTensor.ofInts(exponent, Shape.of(), new int[] {fixed.exponent()}));
                changed.add(stored + SpikeSites.THRESHOLD_INTEGER_SUFFIX);
                changed.add(stored + SpikeSites.THRESHOLD_EXPONENT_SUFFIX);
            }
            case SiteThreshold.Dynamic dynamic -> {
                String k = site + SpikeSites.K_SUFFIX;
                edits.put(k, StoredTensor.ofFloats(k, Shape.of(1), new float[] {dynamic.k()}));
                changed.add(stored + SpikeSites.K_SUFFIX);
            }
        }
    }

    /** The config records the o_proj bias, the spike mode, what calibration changed and the quantization errors of refitted tensors. */
    private ObjectNode configEdit(ObjectNode config, boolean outputProjectionBias, boolean thresholdsChosen, boolean transfer, List<String> changed,
            List<LayerTransfer> transfers) {
        config.put("o_proj_bias", outputProjectionBias);
        ObjectNode spikeconv = (ObjectNode) config.path("spikeconv");
        // A refitted int8 tensor's error is against its fitted values now, not the source's.
        if (spikeconv.path("quantization").path(BundleConfig.RELATIVE_ERRORS).isObject()) {
            ObjectNode errors = (ObjectNode) spikeconv.path("quantization").path(BundleConfig.RELATIVE_ERRORS);
            transfers.forEach(layer -> layer.quantizationErrors().forEach((name, error) -> errors.put(SpikingBrainNames.fromCanonical(name), error)));
        }
        if (thresholdsChosen) {
            String mode = options.method().isStatic() ? SpikeSettings.Mode.STATIC.id() : SpikeSettings.Mode.DYNAMIC.id();
            ((ObjectNode) spikeconv.path("spike")).put("mode", mode);
        }
        ObjectNode calibration = spikeconv.putObject("calibration");
        calibration.put("file", CALIBRATION_FILE).put("method", options.method().id()).put("attention_transfer", transfer);
        ArrayNode names = calibration.putArray("changed_tensors");
        changed.forEach(names::add);
        return config;
    }

    /**
     * Whether {@code bundle} (a bundle folder) has GLA layers that attention transfer never fitted: they start from a
     * fixed decay and the source's projections, and such a model is poor until calibrated.
     */
    public static boolean hasUnfittedLinearLayers(Path bundle, ModelConfig config) throws IOException {
        if (config.architecture() != Architecture.GLA_SWA || !Files.isRegularFile(bundle.resolve("config.json"))
                || !AttentionTransfer.hasLayersToFit(config)) {
            return false;
        }
        return !JsonDocuments.read(bundle.resolve("config.json"), 1 << 24).path("spikeconv").path("calibration").path("attention_transfer").asBoolean(false);
    }

    /** SHA-256 of the token ids, little-endian int32: binds statistics and calibration.json to the data. */
    static String digest(int[] tokens) {
        MessageDigest digest = FileHashes.newDigest();
        ByteBuffer bytes = ByteBuffer.allocate(tokens.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asIntBuffer().put(tokens);
        digest.update(bytes);
        return HexFormat.of().formatHex(digest.digest());
    }
}
