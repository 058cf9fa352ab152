package dev.spikeconv.cli;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.calibration.CalibrationOptions;
import dev.spikeconv.converter.calibration.CalibrationReport;
import dev.spikeconv.converter.calibration.CalibrationReportText;
import dev.spikeconv.converter.calibration.Calibrator;
import dev.spikeconv.converter.calibration.ThresholdMethod;
import dev.spikeconv.converter.hardware.TargetProfile;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.converter.transfer.TransferOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "calibrate", description = {
    "Runs real text through a bundle: fits its GLA layers to the dense model (attention transfer) and sets its spike thresholds.",
    "Writes calibration.json and updates the bundle's tensors, config, ONNX graph and manifests in one atomic step."})
final class CalibrateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HelpOption help;

    @Mixin
    QuietOption quiet;

    @Parameters(paramLabel = "BUNDLE", description = "A bundle written by spikeconv convert.")
    Path bundle;

    @Mixin
    DataOptions dataOptions;

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "4096", description = "Tokens from the start of --data. Default: ${DEFAULT-VALUE}.")
    int tokens;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Chooses attention transfer's held-out sequences and hybrid layers' feature draws. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--method", paramLabel = "M", defaultValue = "mse", completionCandidates = Choices.MethodNames.class,
            description = "Thresholds: mse, max, percentile:P (static integer thresholds), dynamic (k per site) or keep (as they are). Default: ${DEFAULT-VALUE}.")
    String method;

    @Option(names = "--target-sparsity", paramLabel = "S", description = "Share of silent spike slots to reach at every site.")
    Double targetSparsity;

    @Option(names = "--max-error", paramLabel = "E", description = "Largest relative reconstruction error sum((a - theta*s)^2)/sum(a^2) per site.")
    Double maxError;

    @Option(names = "--target", paramLabel = "ID", completionCandidates = Choices.TargetNames.class,
            description = "Target whose threshold bits bound static thresholds and whose energy table is used: ${COMPLETION-CANDIDATES}.")
    String target;

    @Option(names = "--target-file", paramLabel = "FILE", description = "A target profile of your own instead of --target.")
    Path targetFile;

    @Option(names = "--reference", paramLabel = "SOURCE", description = "The dense checkpoint the bundle came from: needed to fit GLA layers.")
    Path reference;

    @Option(names = "--allow-other-reference", description = "Fit to a --reference that is not the checkpoint the bundle was converted from "
            + "(refused otherwise: its files' SHA-256 are recorded in the bundle's config).")
    boolean allowOtherReference;

    @Option(names = "--transfer", paramLabel = "STEPS", defaultValue = "full", converter = Choices.TransferChoices.class,
            completionCandidates = Choices.TransferChoices.class,
            description = "Attention transfer steps for GLA layers: full (decay + readout), decay, readout or none. Default: ${DEFAULT-VALUE}.")
    Choices.Transfer transfer;

    @Option(names = "--adam-steps", paramLabel = "N", defaultValue = "0",
            description = "Attention transfer step 3: Adam steps per GLA layer on the gate and q/k projections, then the readout again. Default: ${DEFAULT-VALUE}.")
    int adamSteps;

    @Option(names = "--learning-rate", paramLabel = "LR", defaultValue = "1e-3", description = "Adam step size. Default: ${DEFAULT-VALUE}.")
    double learningRate;

    @Option(names = "--held-out", paramLabel = "SHARE", defaultValue = "0.25",
            description = "Share of sequences attention transfer holds out to pick the ridge penalty and report errors. Default: ${DEFAULT-VALUE}.")
    double heldOut;

    @Option(names = "--checkpoint", paramLabel = "FILE",
            description = "Where the layer-by-layer pass saves its state, resumed after a kill. Default: BUNDLE.calibrate-checkpoint beside the bundle.")
    Path checkpoint;

    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "4", description = "Layers between checkpoints. Default: ${DEFAULT-VALUE}.")
    int checkpointEvery;

    @Option(names = "--merge", paramLabel = "FILE", description = "Statistics saved by earlier runs (--save-statistics) to add to this run's.")
    List<Path> merge = List.of();

    @Option(names = "--save-statistics", paramLabel = "FILE", description = "Keep this run's statistics for a later --merge.")
    Path saveStatistics;

    @Option(names = "--statistics-only", description = "Only gather statistics into --save-statistics; the bundle is left as it is.")
    boolean statisticsOnly;

    @Override
    public Integer call() throws Exception {
        TargetProfile profile = null;
        if (target != null && targetFile != null) {
            throw new InvalidOptionException("target", "give a shipped target or a target file, not both");
        }
        if (target != null) {
            profile = TargetProfiles.shipped(target);
        }
        if (targetFile != null) {
            profile = TargetProfiles.read(targetFile);
        }
        CalibrationOptions options = new CalibrationOptions(bundle, dataOptions.data, dataOptions.tokenizer, tokens, dataOptions.sequenceLength, seed,
                ThresholdMethod.parse(method), targetSparsity, maxError, profile, reference, transferOptions(), checkpoint, checkpointEvery, merge,
                saveStatistics, statisticsOnly, allowOtherReference);
        CalibrationReport report = Calibrator.run(options, quiet.progress(spec.commandLine().getErr()));
        PrintWriter out = spec.commandLine().getOut();
        out.print(CalibrationReportText.render(report));
        out.flush();
        return ExitCodes.OK;
    }

    private TransferOptions transferOptions() {
        return switch (transfer) {
            case FULL -> new TransferOptions(true, true, adamSteps, learningRate, heldOut, seed);
            case DECAY -> new TransferOptions(true, false, adamSteps, learningRate, heldOut, seed);
            case READOUT -> new TransferOptions(false, true, adamSteps, learningRate, heldOut, seed);
            case NONE -> new TransferOptions(false, false, 0, learningRate, heldOut, seed);
        };
    }
}
