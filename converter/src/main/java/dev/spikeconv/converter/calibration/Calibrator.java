package dev.spikeconv.converter.calibration;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.bundle.BundleUpdate;
import dev.spikeconv.converter.execution.TokenData;
import dev.spikeconv.converter.hardware.BundleTensorHashes;
import dev.spikeconv.converter.hardware.ManifestOptions;
import dev.spikeconv.converter.hardware.ModelFootprint;
import dev.spikeconv.converter.hardware.OperationEstimate;
import dev.spikeconv.converter.hardware.TargetProfile;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.converter.spiking.SpikeStatistics;
import dev.spikeconv.converter.transfer.AttentionTransfer;
import dev.spikeconv.converter.transfer.LayerTransfer;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.hf.SpikingBrainNames;
import dev.spikeconv.formats.io.BackgroundWork;
import dev.spikeconv.formats.io.FileHashes;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tokenizer.Tokenizer;
import dev.spikeconv.formats.tokenizer.TokenizerLoader;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Calibrates a bundle on real text (DESIGN §4): attention transfer for its GLA layers when a dense
 * reference is given, then spike thresholds from the statistics of every projection input, gathered
 * by the bundle's own ONNX graph with those inputs added as outputs. The result is measured on the
 * same tokens and written into the bundle atomically, with {@code calibration.json}.
 */
public final class Calibrator {
    public static final String CALIBRATION_FILE = "calibration.json";
    public static final int FORMAT_VERSION = 1;

    private final CalibrationOptions options;
    private final CalibrationProgress progress;
    private final Path bundlePath;

    private Calibrator(CalibrationOptions options, CalibrationProgress progress) {
        this.options = options;
        this.progress = progress;
        this.bundlePath = options.bundle().toAbsolutePath().normalize();
    }

    public static CalibrationReport run(CalibrationOptions options, CalibrationProgress progress) throws IOException {
        if (!Files.exists(options.bundle())) {
            throw new NoSuchFileException(options.bundle().toString(), null, "no such bundle folder");
        }
        if (!Files.isDirectory(options.bundle())) {
            throw InvalidInputException.forFile(options.bundle(), "is not a bundle folder: convert the checkpoint first");
        }
        Closeable lock = BundleUpdate.lock(options.bundle());
        try (lock) {
            return new Calibrator(options, progress).run();
        }
    }

    private CalibrationReport run() throws IOException {
        ModelConfig config;
        List<int[]> sequences;
        String tokenDigest;
        boolean transfer;
        try (ModelDescription bundle = CheckpointLoader.open(bundlePath)) {
            config = bundle.config();
            if (config.architecture() != Architecture.GLA_SWA) {
                throw InvalidInputException.forFile(options.bundle(), "is a " + config.architecture().id() + " checkpoint, not a bundle; convert it first");
            }
            boolean hasLinearLayers = AttentionTransfer.hasLayersToFit(config);
            transfer = hasLinearLayers && options.transfer().enabled();
            if (transfer && options.reference() == null) {
                throw new InvalidOptionException("reference", "is needed: the bundle has GLA layers, and attention transfer fits them to the dense "
                        + "model the bundle was converted from (or choose transfer none)");
            }
            boolean thresholds = config.spike().spiking() && options.method().choosesThresholds();
            if (options.statisticsOnly() && !config.spike().spiking()) {
                throw new InvalidOptionException("statistics-only", "the bundle's spikes are off: there are no thresholds to gather statistics for");
            }
            if (!transfer && !thresholds && !options.statisticsOnly()) {
                throw new InvalidOptionException("method", config.spike().spiking()
                        ? "nothing to calibrate: thresholds are kept and there are no GLA layers to transfer"
                        : "nothing to calibrate: the bundle's spikes are off and it has no GLA layers to transfer");
            }
            int[] tokens = tokens(config);
            tokenDigest = digest(tokens);
            sequences = new ArrayList<>();
            for (int start = 0; start < tokens.length; start += options.sequenceLength()) {
                sequences.add(Arrays.copyOfRange(tokens, start, Math.min(tokens.length, start + options.sequenceLength())));
            }
        }
        Map<String, String> referenceFiles = new LinkedHashMap<>();
        Path transferred = null;
        Path staging = null;
        try {
            Path base = bundlePath;
            List<LayerTransfer> transferLayers = List.of();
            List<String> changed = new ArrayList<>();
            if (transfer) {
                AttentionTransfer.Result result = transfer(sequences, referenceFiles);
                transferLayers = result.layers();
                transferred = BundleUpdate.stage(bundlePath);
                BundleUpdate.write(bundlePath, transferred, transferEdit(result), progress);
                base = transferred;
                new TreeSet<>(result.replaced().keySet()).forEach(name -> changed.add(SpikingBrainNames.fromCanonical(name)));
                new TreeSet<>(result.added().keySet()).forEach(name -> changed.add(SpikingBrainNames.fromCanonical(name)));
            }
            SequencedMap<String, SiteThreshold> thresholds = new LinkedHashMap<>();
            if (options.statisticsOnly()) {
                CalibrationStatistics statistics = statistics(base, sequences, tokenDigest);
                Files.deleteIfExists(options.checkpointFile());
                progress.stage("saved the statistics of " + statistics.sequences() + " sequences to " + options.saveStatistics());
                return new CalibrationReport(bundlePath, "statistics only", sequences.stream().mapToInt(sequence -> sequence.length).sum(), sequences.size(),
                        List.of(), List.of(), new CalibrationReport.Totals(0, 0, 0, 0, 0), null);
            }
            if (config.spike().spiking() && options.method().choosesThresholds()) {
                CalibrationStatistics statistics = statistics(base, sequences, tokenDigest);
                thresholds = chooseThresholds(statistics, config.spike());
                for (String site : thresholds.keySet()) {
                    String name = SpikingBrainNames.fromCanonical(site);
                    if (options.method().isStatic()) {
                        changed.add(name + SpikeSites.THRESHOLD_INTEGER_SUFFIX);
                        changed.add(name + SpikeSites.THRESHOLD_EXPONENT_SUFFIX);
                    }
                    else {
                        changed.add(name + SpikeSites.K_SUFFIX);
                    }
                }
            }
            staging = BundleUpdate.stage(bundlePath);
            BundleUpdate.write(base, staging, thresholdEdit(thresholds, changed, transfer), progress);
            CalibrationReport report = measure(staging, sequences, transferLayers);
            byte[] calibration = JsonCalibration.write(report, options, tokenDigest, sequences, BundleTensorHashes.digest(BundleTensorHashes.of(staging)),
                    referenceFiles, changed);
            Files.write(staging.resolve(CALIBRATION_FILE), calibration);
            BundleUpdate.refreshManifests(staging, progress);
            BundleUpdate.commit(staging, bundlePath);
            staging = null;
            Files.deleteIfExists(options.checkpointFile());
            return report;
        }
        catch (InvalidInputException e) {
            throw staging != null ? BundleUpdate.renamed(e, staging, bundlePath) : e;
        }
        finally {
            if (staging != null) {
                BundleUpdate.discard(staging);
            }
            if (transferred != null) {
                BundleUpdate.discard(transferred);
            }
        }
    }

    private int[] tokens(ModelConfig config) throws IOException {
        Tokenizer tokenizer = null;
        if (!TokenData.isTokenIdFile(options.data())) {
            tokenizer = options.tokenizer() != null ? TokenizerLoader.fromFile(options.tokenizer(), config.vocabularySize())
                    : TokenizerLoader.forModel(bundlePath, config.vocabularySize()).orElse(null);
        }
        int[] tokens = TokenData.tokens(options.data(), options.tokens(), tokenizer, config.vocabularySize());
        if (tokens.length < 2) {
            throw InvalidInputException.forFile(options.data(), "gives " + tokens.length + " token(s); calibrate needs at least 2");
        }
        if (tokens.length < options.tokens()) {
            progress.warning(options.data() + " gives only " + tokens.length + " of the " + options.tokens() + " tokens asked for");
        }
        return tokens;
    }

    /** Fits the GLA layers to the dense reference; records the reference's file hashes and warns when they are not the bundle's source. */
    private AttentionTransfer.Result transfer(List<int[]> sequences, Map<String, String> referenceFiles) throws IOException {
        progress.stage("attention transfer on " + sequences.stream().mapToInt(sequence -> sequence.length).sum() + " tokens");
        try (ModelDescription bundle = CheckpointLoader.open(bundlePath); ModelDescription dense = CheckpointLoader.open(options.reference())) {
            for (Path file : dense.files()) {
                referenceFiles.put(file.getFileName().toString(), FileHashes.sha256(file));
            }
            var recorded = JsonDocuments.read(bundlePath.resolve("config.json"), 1 << 24).path("spikeconv").path("source").path("files");
            boolean known = referenceFiles.values().stream().anyMatch(hash -> recorded.valueStream().anyMatch(node -> node.asText().equals(hash)));
            if (!known) {
                progress.warning(options.reference() + " is not the file the bundle was converted from (no SHA-256 matches its config); "
                        + "transfer fits the bundle to it all the same");
            }
            return AttentionTransfer.fit(bundle, dense, sequences, options.transfer(), progress::stage);
        }
    }

    private static BundleUpdate.Edit transferEdit(AttentionTransfer.Result result) {
        Map<String, BundleUpdate.NewTensor> added = new LinkedHashMap<>();
        result.added().forEach((name, values) -> added.put(name, BundleUpdate.NewTensor.ofFloats(Shape.of(values.length), values)));
        boolean bias = result.config().outputProjectionBias();
        return new BundleUpdate.Edit(result.replaced(), added, name -> false, config -> config.put("o_proj_bias", bias), Map.of());
    }

    /** Statistics of every spiking site over the sequences: resumed from a matching checkpoint, merged with earlier runs' files. */
    private CalibrationStatistics statistics(Path base, List<int[]> sequences, String tokenDigest) throws IOException {
        String modelDigest = BundleTensorHashes.digest(BundleTensorHashes.of(base));
        CalibrationStatistics statistics;
        List<String> sites;
        List<List<String>> groups;
        List<String> traced = new ArrayList<>();
        ModelConfig config;
        try (ModelDescription model = CheckpointLoader.open(base)) {
            config = model.config();
            sites = SpikeSites.spikingSites(config);
            groups = SpikeSites.sharedInputGroups(config);
        }
        // One traced input per group of sites that read the same activations.
        groups.forEach(group -> traced.add(DecoderGraphWriter.projectionInput(group.getFirst())));
        statistics = resumed(modelDigest, tokenDigest, sites);
        int steps = (sequences.size() + options.batch() - 1) / options.batch();
        if (statistics.sequences() < sequences.size()) {
            progress.stage(statistics.sequences() == 0 ? "gathering projection input statistics"
                    : "resuming projection input statistics after " + statistics.sequences() + " sequences");
            // Histograms of one sequence are filled while ONNX Runtime runs the next: both halves keep the cores busy.
            ExecutorService histograms = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("spikeconv-statistics").daemon().factory());
            try (OnnxRuntimeEngine engine = OnnxRuntimeEngine.open(base.resolve(DecoderGraphWriter.MODEL_FILE), config, options.runtime(), traced)) {
                Future<?> pending = null;
                for (int index = statistics.sequences(); index < sequences.size(); index++) {
                    Map<String, float[][]> trace;
                    try (OnnxRuntimeEngine.RuntimeSession session = engine.newSession()) {
                        trace = session.trace(sequences.get(index), traced);
                    }
                    if (pending != null) {
                        finish(pending, statistics, sequences.size(), steps);
                    }
                    // Groups fill disjoint histograms, each on one thread: the result does not depend on the split.
                    pending = histograms.submit(() -> groups.parallelStream()
                            .forEach(group -> statistics.addShared(group, trace.get(DecoderGraphWriter.projectionInput(group.getFirst())))));
                }
                if (pending != null) {
                    finish(pending, statistics, sequences.size(), steps);
                }
            }
            finally {
                histograms.shutdownNow();
            }
        }
        if (options.saveStatistics() != null) {
            statistics.write(options.saveStatistics());
        }
        for (Path file : options.merge()) {
            statistics.merge(CalibrationStatistics.read(file), file);
        }
        return statistics;
    }

    /** Waits for one sequence's histograms, counts the sequence, reports progress and checkpoints at the chosen steps. */
    private void finish(Future<?> histograms, CalibrationStatistics statistics, int sequenceCount, int steps) throws IOException {
        BackgroundWork.await(histograms, "gathering statistics");
        statistics.sequenceDone();
        boolean stepDone = statistics.sequences() % options.batch() == 0 || statistics.sequences() == sequenceCount;
        if (stepDone) {
            int step = (statistics.sequences() + options.batch() - 1) / options.batch();
            progress.step("statistics", step, steps);
            if (step % options.checkpointEvery() == 0 && statistics.sequences() < sequenceCount) {
                statistics.write(options.checkpointFile());
            }
        }
    }

    /** A checkpoint of this run (same model state and tokens), or fresh statistics. */
    private CalibrationStatistics resumed(String modelDigest, String tokenDigest, List<String> sites) throws IOException {
        Path checkpoint = options.checkpointFile();
        if (Files.isRegularFile(checkpoint)) {
            try {
                CalibrationStatistics saved = CalibrationStatistics.read(checkpoint);
                if (saved.modelDigest().equals(modelDigest) && saved.tokenDigest().equals(tokenDigest) && saved.sites().keySet().equals(
                        new LinkedHashSet<>(sites))) {
                    return saved;
                }
                progress.warning(checkpoint + " belongs to another bundle state or other tokens; starting over");
            }
            catch (InvalidInputException e) {
                progress.warning("ignoring an unreadable checkpoint: " + e.getMessage());
            }
        }
        return new CalibrationStatistics(modelDigest, tokenDigest, sites);
    }

    /**
     * Thresholds of every site. A sparsity target holds for all sites together ({@link SparsityAllocation});
     * a static method's own θ is a lower bound on top, an error budget holds per site.
     */
    private SequencedMap<String, SiteThreshold> chooseThresholds(CalibrationStatistics statistics, SpikeSettings spike) {
        int window = ModelFootprint.timeSteps(spike);
        ThresholdSearch search = new ThresholdSearch(spike.timeSteps(), spike.coding(), window);
        List<SiteStatistics> sites = List.copyOf(statistics.sites().values());
        boolean dynamic = !options.method().isStatic();
        double[] allocated = null;
        if (options.targetSparsity() != null) {
            allocated = SparsityAllocation.thresholds(sites.stream().map(site -> dynamic ? site.relativeMagnitudes() : site.magnitudes()).toList(), search,
                    window, options.targetSparsity());
        }
        SequencedMap<String, SiteThreshold> thresholds = new LinkedHashMap<>();
        for (int index = 0; index < sites.size(); index++) {
            SiteStatistics site = sites.get(index);
            if (dynamic) {
                double threshold = allocated != null ? allocated[index] : search.thresholdForError(site.relativeMagnitudes(), options.maxError());
                thresholds.put(site.site(), new SiteThreshold.Dynamic((float) (1 / threshold)));
                continue;
            }
            double threshold = search.staticThreshold(site.magnitudes(), options.method());
            if (threshold == 0) {
                // A site that never saw a non-zero input: any threshold gives zero counts.
                thresholds.put(site.site(), SiteThreshold.Static.nearest(1, options.thresholdBits()));
                continue;
            }
            if (allocated != null) {
                threshold = Math.max(threshold, allocated[index]);
            }
            if (options.maxError() != null) {
                threshold = Math.min(threshold, search.thresholdForError(site.magnitudes(), options.maxError()));
            }
            thresholds.put(site.site(), SiteThreshold.Static.nearest(threshold, options.thresholdBits()));
        }
        return thresholds;
    }

    /** Threshold tensors replace any earlier calibration's; the config records the mode and what calibration changed. */
    private BundleUpdate.Edit thresholdEdit(SequencedMap<String, SiteThreshold> thresholds, List<String> changed, boolean transfer) {
        Map<String, BundleUpdate.NewTensor> added = new LinkedHashMap<>();
        thresholds.forEach((site, threshold) -> {
            switch (threshold) {
                case SiteThreshold.Static fixed -> {
                    added.put(site + SpikeSites.THRESHOLD_INTEGER_SUFFIX, BundleUpdate.NewTensor.ofInts(Shape.of(fixed.integers().length), fixed.integers()));
                    added.put(site + SpikeSites.THRESHOLD_EXPONENT_SUFFIX, BundleUpdate.NewTensor.ofInts(Shape.of(), fixed.exponent()));
                }
                case SiteThreshold.Dynamic dynamic -> added.put(site + SpikeSites.K_SUFFIX, BundleUpdate.NewTensor.ofFloats(Shape.of(1), dynamic.k()));
            }
        });
        boolean thresholdsChosen = !thresholds.isEmpty();
        String mode = options.method().isStatic() ? SpikeSettings.Mode.STATIC.id() : SpikeSettings.Mode.DYNAMIC.id();
        return new BundleUpdate.Edit(Map.of(), added,
                name -> thresholdsChosen && (name.endsWith(SpikeSites.THRESHOLD_INTEGER_SUFFIX) || name.endsWith(SpikeSites.THRESHOLD_EXPONENT_SUFFIX)
                        || name.endsWith(SpikeSites.K_SUFFIX)),
                config -> {
                    ObjectNode spikeconv = (ObjectNode) config.path("spikeconv");
                    if (thresholdsChosen) {
                        ((ObjectNode) spikeconv.path("spike")).put("mode", mode);
                    }
                    ObjectNode calibration = spikeconv.putObject("calibration");
                    calibration.put("file", CALIBRATION_FILE).put("method", options.method().id()).put("attention_transfer", transfer);
                    ArrayNode names = calibration.putArray("changed_tensors");
                    changed.forEach(names::add);
                    return config;
                },
                Map.of());
    }

    /** Spike activity of the calibrated bundle on the calibration tokens, per site and in total, and the energy estimate. */
    private CalibrationReport measure(Path staging, List<int[]> sequences, List<LayerTransfer> transfer) throws IOException {
        progress.stage("measuring the calibrated bundle");
        try (ModelDescription model = CheckpointLoader.open(staging)) {
            ModelConfig config = model.config();
            SpikeSettings spike = config.spike();
            SequencedMap<String, SpikeStatistics> sites = new LinkedHashMap<>();
            if (spike.spiking()) {
                SpikeSites.thresholds(model).forEach((site, threshold) -> sites.put(site, new SpikeStatistics(site, threshold, spike,
                        ModelFootprint.timeSteps(spike))));
                List<String> traced = sites.keySet().stream().map(DecoderGraphWriter::projectionInput).toList();
                try (OnnxRuntimeEngine engine = OnnxRuntimeEngine.open(staging.resolve(DecoderGraphWriter.MODEL_FILE), config, options.runtime(), traced)) {
                    for (int index = 0; index < sequences.size(); index++) {
                        try (OnnxRuntimeEngine.RuntimeSession session = engine.newSession()) {
                            Map<String, float[][]> trace = session.trace(sequences.get(index), traced);
                            sites.forEach((site, statistics) -> statistics.add(trace.get(DecoderGraphWriter.projectionInput(site))));
                        }
                        progress.step("measuring", index + 1, sequences.size());
                    }
                }
            }
            List<CalibrationReport.SiteResult> results = new ArrayList<>();
            long values = 0;
            double events = 0;
            double slots = 0;
            double saturated = 0;
            double errorWeighted = 0;
            int silent = 0;
            double macs = 0;
            double weightedEvents = 0;
            for (SpikeStatistics statistics : sites.values()) {
                results.add(new CalibrationReport.SiteResult(statistics.site(), statistics.threshold(), statistics.firingRate(), statistics.sparsity(),
                        statistics.eventsPerInput(), statistics.silentChannels(), statistics.channels(), statistics.saturation(),
                        statistics.reconstructionError()));
                values += statistics.values();
                events += statistics.events();
                slots += (double) statistics.values() * statistics.window();
                saturated += statistics.saturation() * statistics.values();
                errorWeighted += statistics.reconstructionError() * statistics.values();
                silent += statistics.silentChannels();
                Shape shape = model.tensor(statistics.site() + ".weight").shape();
                double siteMacs = (double) shape.dimension(0) * shape.dimension(1);
                macs += siteMacs;
                weightedEvents += siteMacs * statistics.eventsPerInput();
            }
            CalibrationReport.Totals totals = new CalibrationReport.Totals(slots == 0 ? 0 : 1 - events / slots, macs == 0 ? 0 : weightedEvents / macs, silent,
                    values == 0 ? 0 : saturated / values, values == 0 ? 0 : errorWeighted / values);
            TargetProfile profile = options.target() != null ? options.target() : TargetProfiles.shipped("neuromorphic-event");
            OperationEstimate estimate = OperationEstimate.of(ModelFootprint.of(model), profile, ManifestOptions.DEFAULT,
                    spike.spiking() ? totals.eventsPerInput() : null);
            CalibrationReport.Energy energy = new CalibrationReport.Energy(profile.id(), profile.energy().source(), estimate.denseJoules(),
                    estimate.spikingJoules());
            int tokens = sequences.stream().mapToInt(sequence -> sequence.length).sum();
            String method = spike.spiking() ? options.method().id() : "keep";
            return new CalibrationReport(bundlePath, method, tokens, sequences.size(), transfer, results, totals, energy);
        }
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
