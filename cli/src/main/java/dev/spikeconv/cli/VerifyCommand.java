package dev.spikeconv.cli;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.verify.Goals;
import dev.spikeconv.converter.verify.JunitReport;
import dev.spikeconv.converter.verify.ProbeKind;
import dev.spikeconv.converter.verify.ProbeOptions;
import dev.spikeconv.converter.verify.Verifier;
import dev.spikeconv.converter.verify.VerifyBaseline;
import dev.spikeconv.converter.verify.VerifyHtmlReport;
import dev.spikeconv.converter.verify.VerifyOptions;
import dev.spikeconv.converter.verify.VerifyReport;
import dev.spikeconv.converter.verify.VerifyReportJson;
import dev.spikeconv.converter.verify.VerifyReportText;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

@Command(name = "verify", description = {
    "Compares a bundle with its dense original on the same tokens and gates CI with the exit code.",
    "Exit 0 when every goal holds, 1 when one is missed."})
final class VerifyCommand implements Callable<Integer> {
    /** How the verifier marks a warning among its progress messages. */
    private static final String WARNING = "warning: ";

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

    @ArgGroup(multiplicity = "1")
    Reference reference;

    static final class Reference {
        @Option(names = "--reference", paramLabel = "SOURCE", description = "The dense checkpoint the bundle was converted from.")
        Path source;

        @Option(names = "--reference-logits", paramLabel = "FILE", description = "The dense side saved by an earlier --save-reference run on the same data.")
        Path recording;
    }

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "512", description = "Tokens to evaluate. Default: ${DEFAULT-VALUE}.")
    int tokens;

    @Option(names = "--skip-tokens", paramLabel = "N", defaultValue = "0",
            description = "Start after the first N tokens of --data, e.g. the ones calibrate used. Default: ${DEFAULT-VALUE}.")
    int skipTokens;

    @Option(names = "--engine-tokens", paramLabel = "N", defaultValue = "64", description = "Tokens the Java reference engine checks ONNX Runtime on. Default: ${DEFAULT-VALUE}.")
    int engineTokens;

    @Mixin
    ThreadsOption threads;

    @Option(names = "--goals", paramLabel = "FILE", description = "Goals as JSON: max_kl, max_kl_p99, min_top1, max_ppl_ratio, min_sparsity, max_engine_diff, min_engine_count_agreement, "
                    + "max_engine_flip_distance, max_engine_kl, require_linear_branch, max_long_range_nll_ratio.")
    Path goalsFile;

    @Option(names = "--max-kl", paramLabel = "X", description = "Mean KL(dense || bundle), nats. Default: 0.5.")
    Double maxKl;

    @Option(names = "--max-kl-p99", paramLabel = "X", description = "99th percentile KL. Default: 5.0.")
    Double maxKlP99;

    @Option(names = "--min-top1", paramLabel = "X", description = "Top-1 agreement with the dense model. Default: 0.5.")
    Double minTopOne;

    @Option(names = "--max-ppl-ratio", paramLabel = "X", description = "Perplexity over the dense perplexity. Default: 2.0.")
    Double maxPerplexityRatio;

    @Option(names = "--min-sparsity", paramLabel = "X", description = "Share of silent spike slots. Default: not checked.")
    Double minSparsity;

    @Option(names = "--max-engine-diff", paramLabel = "X", description = "Largest ONNX vs Java logit difference, both engines on the same spike counts. Default: 1e-3.")
    Double maxEngineDifference;

    @Option(names = "--min-engine-count-agreement", paramLabel = "X",
            description = "Share of spike counts both engines compute alike from the same activations. Default: 0.999.")
    Double minEngineCountAgreement;

    @Option(names = "--max-engine-flip-distance", paramLabel = "X",
            description = "Largest distance of a differing spike count from its rounding edge, in counts. Default: 1e-3.")
    Double maxEngineFlipDistance;

    @Option(names = "--max-engine-kl", paramLabel = "X",
            description = "Mean KL of the free-running spiking engines (flips compound with depth). Default: not checked.")
    Double maxEngineKl;

    @Option(names = "--max-long-range-nll-ratio", paramLabel = "X",
            description = "Bundle over dense NLL of tokens that last occurred only beyond the smallest sliding window (64 without one). "
                    + "Default: not checked.")
    Double maxLongRangeNllRatio;

    @Option(names = "--allow-other-reference", description = "Compare with a --reference that is not the checkpoint the bundle was converted from "
            + "(refused otherwise: its files' SHA-256 are recorded in the bundle's config).")
    boolean allowOtherReference;

    @Option(names = "--baseline", paramLabel = "KIND", defaultValue = "no-gla-attention", converter = BaselineConverter.class,
            description = "What a bundle with GLA layers is also compared with: no-gla-attention (the bundle without their attention; goal "
                    + "linear_branch_useful, on KL) or all-swa (the dense attention over the smallest sliding window in their place; goal "
                    + "gla_beyond_window, on the NLL of tokens that recur only beyond that window). Default: ${DEFAULT-VALUE}.")
    VerifyBaseline baseline;

    @Option(names = "--allow-useless-linear-branch", description = "Do not fail a hybrid whose GLA layers do no better than the baseline.")
    boolean allowUselessLinearBranch;

    @Option(names = "--probes", paramLabel = "KIND", split = ",", converter = ProbeKindConverter.class,
            description = "Synthetic retrieval probes built from the evaluation tokens: passkey (a random key after a random cue, natural text, the "
                    + "cue again), kv-recall (pairs of random tokens, then earlier keys again). Each runs on the dense model first; the bundle "
                    + "and the baseline run where the dense model gets at least half the answers. Cost: about trials x the sum of the distances "
                    + "tokens per model and kind. Default: none.")
    List<ProbeKind> probeKinds = List.of();

    @Option(names = "--probe-distances", paramLabel = "N", split = ",",
            description = "How far back each probe's answer lies, in tokens. Default: 16, 64, 256, 1024, 4096, 16384, 65536, those that fit "
                    + "the model's positions.")
    List<Integer> probeDistances = List.of();

    @Option(names = "--probe-trials", paramLabel = "N", defaultValue = "4", description = "Probe sequences per kind and distance. Default: ${DEFAULT-VALUE}.")
    int probeTrials;

    @Option(names = "--layer-kl", description = "Also measure, for every layer, the KL to the dense model when only that layer is the bundle's: "
            + "which layers the distance comes from. Costs about layers/2 more passes of the dense model.")
    boolean layerKl;

    /** Probe kinds by their option names. */
    static final class ProbeKindConverter implements ITypeConverter<ProbeKind> {
        @Override
        public ProbeKind convert(String value) {
            try {
                return ProbeKind.parse(value);
            }
            catch (InvalidOptionException e) {
                throw new TypeConversionException(e.problem());
            }
        }
    }

    /** Baselines by their option names. */
    static final class BaselineConverter implements ITypeConverter<VerifyBaseline> {
        @Override
        public VerifyBaseline convert(String value) {
            try {
                return VerifyBaseline.parse(value);
            }
            catch (InvalidOptionException e) {
                throw new TypeConversionException(e.problem());
            }
        }
    }

    @Option(names = "--report", paramLabel = "FILE.json", description = "Write every number as JSON.")
    Path reportFile;

    @Option(names = "--junit", paramLabel = "FILE.xml", description = "Write JUnit XML, one test case per goal.")
    Path junitFile;

    @Option(names = "--html", paramLabel = "FILE.html", description = "Write an HTML report with per-layer charts.")
    Path htmlFile;

    @Option(names = "--save-reference", paramLabel = "FILE", description = "Save the dense side for later --reference-logits runs.")
    Path saveReference;

    @Override
    public Integer call() throws Exception {
        Goals goals = goalsFile == null ? Goals.DEFAULT : Goals.read(goalsFile, Goals.DEFAULT);
        goals = new Goals(
                maxKl != null ? maxKl : goals.maxKl(),
                maxKlP99 != null ? maxKlP99 : goals.maxKlP99(),
                minTopOne != null ? minTopOne : goals.minTopOne(),
                maxPerplexityRatio != null ? maxPerplexityRatio : goals.maxPerplexityRatio(),
                minSparsity != null ? minSparsity : goals.minSparsity(),
                maxEngineDifference != null ? maxEngineDifference : goals.maxEngineDifference(),
                minEngineCountAgreement != null ? minEngineCountAgreement : goals.minEngineCountAgreement(),
                maxEngineFlipDistance != null ? maxEngineFlipDistance : goals.maxEngineFlipDistance(),
                maxEngineKl != null ? maxEngineKl : goals.maxEngineKl(),
                goals.requireLinearBranch() && !allowUselessLinearBranch,
                maxLongRangeNllRatio != null ? maxLongRangeNllRatio : goals.maxLongRangeNllRatio());
        VerifyOptions options = new VerifyOptions(bundle, reference.source, reference.recording, dataOptions.data, dataOptions.tokenizer, skipTokens, tokens,
                dataOptions.sequenceLength, engineTokens, goals, threads.onnxRuntimeOptions(), saveReference, allowOtherReference, baseline,
                new ProbeOptions(Set.copyOf(probeKinds), probeDistances, probeTrials), layerKl);
        PrintWriter err = spec.commandLine().getErr();
        TerminalProgress progress = quiet.progress(err);
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            CalibrationWarning.warnIfUncalibrated(bundle, model.config(), err);
        }
        VerifyReport report = Verifier.run(options, stage -> {
            if (stage.startsWith(WARNING)) {
                progress.warning(stage.substring(WARNING.length()));
            }
            else {
                progress.stage(stage);
            }
        });
        PrintWriter out = spec.commandLine().getOut();
        // --report - puts the JSON on stdout, for a pipe: the table then stays off it.
        boolean jsonOnStdout = reportFile != null && reportFile.toString().equals("-");
        if (jsonOnStdout) {
            out.println(JsonDocuments.writer().writeValueAsString(VerifyReportJson.toJson(report)));
        }
        else {
            out.print(VerifyReportText.render(report));
        }
        if (reportFile != null && !jsonOnStdout) {
            Files.writeString(reportFile, JsonDocuments.writer().writeValueAsString(VerifyReportJson.toJson(report)));
            progress.stage("wrote the JSON report to " + reportFile);
        }
        if (junitFile != null) {
            Files.writeString(junitFile, JunitReport.render(report));
            progress.stage("wrote the JUnit report to " + junitFile);
        }
        if (htmlFile != null) {
            Files.writeString(htmlFile, VerifyHtmlReport.render(report));
            progress.stage("wrote the HTML report to " + htmlFile);
        }
        out.flush();
        return report.passed() ? ExitCodes.OK : ExitCodes.GOAL_MISSED;
    }
}
