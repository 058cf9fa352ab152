package dev.spikeconv.cli;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.converter.planner.PlanBudget;
import dev.spikeconv.converter.planner.PlanHtmlReport;
import dev.spikeconv.converter.planner.PlanOptions;
import dev.spikeconv.converter.planner.PlanReport;
import dev.spikeconv.converter.planner.PlanReportJson;
import dev.spikeconv.converter.planner.PlanReportText;
import dev.spikeconv.converter.planner.PlanSearch;
import dev.spikeconv.converter.transfer.TransferOptions;
import dev.spikeconv.formats.json.JsonDocuments;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "plan", description = {
    "Measures which layers of a dense checkpoint can become GLA and proposes a layer plan within a budget.",
    "Every layer starts as a sliding window; layers become GLA greedily, each fitted by attention transfer",
    "and scored by the KL to the dense model on held-out text.",
    "Use the result with: spikeconv convert SOURCE -o BUNDLE --plan @PLAN.json"})
final class PlanCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HelpOption help;

    @Mixin
    QuietOption quiet;

    @Parameters(paramLabel = "SOURCE", description = "The dense checkpoint: Hugging Face folder, PyTorch file, GGUF file or llama2.c .bin.")
    Path source;

    @Mixin
    DataOptions dataOptions;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Budget budget;

    /** Exactly one budget. */
    static final class Budget {
        @Option(names = "--gla", paramLabel = "N", description = "Convert exactly N layers (to GLA, or to a --kinds kind).")
        Integer convertedLayers;

        @Option(names = "--max-cache", paramLabel = "SIZE", converter = Sizes.ByteSize.class,
                description = "Convert layers, cheapest in KL first, until the caches and states of one sequence fit SIZE at --context (bfloat16), "
                        + "e.g. 256MiB.")
        Long maxCache;

        @Option(names = "--max-kl", paramLabel = "KL", description = "Convert layers while the mean KL to the dense model stays within KL, then choose the smallest --windows that keeps it.")
        Double maxKl;
    }

    @Option(names = "--kinds", paramLabel = "KIND", split = ",", defaultValue = "gla",
            description = "What a converted layer may become: gla, hybrid/W+S (windowed softmax beside GLA), or both; with more than one, each step "
                    + "takes the conversion that costs the least KL per byte of cache saved. --gla N counts converted layers. Default: ${DEFAULT-VALUE}.")
    List<String> kinds;

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "4096", description = "Tokens from the start of --data that fit the GLA layers. Default: ${DEFAULT-VALUE}.")
    int tokens;

    @Option(names = "--eval-tokens", paramLabel = "N", defaultValue = "2048",
            description = "The next tokens of --data, which score the plans. Default: ${DEFAULT-VALUE}.")
    int evaluationTokens;

    @Option(names = "--window", paramLabel = "W", defaultValue = "4096", description = "Sliding window of the layers that stay softmax. Default: ${DEFAULT-VALUE}.")
    int window;

    @Option(names = "--windows", paramLabel = "W[+S]", split = ",", defaultValue = "512,1024,2048",
            description = "With --max-kl, windows (W+S: with S sinks; W alone: --sinks) tried after the search, those with a smaller cache than --window, "
                    + "smallest first; the first that still meets the target is kept. Default: ${DEFAULT-VALUE}.")
    List<String> windows;

    @Option(names = "--sinks", paramLabel = "N", defaultValue = "0", description = "Sink positions of that window. Default: ${DEFAULT-VALUE}.")
    int sinks;

    @Option(names = "--local-window", paramLabel = "W", defaultValue = "64",
            description = "Window of the zero-cost locality score (attention inside sinks + W). Default: ${DEFAULT-VALUE}.")
    int localWindow;

    @Option(names = "--context", paramLabel = "N", defaultValue = "32768", description = "Context at which caches are sized. Default: ${DEFAULT-VALUE}.")
    long context;

    @Option(names = "--candidates", paramLabel = "N", defaultValue = "3",
            description = "Layers re-measured at each step after the first (the others keep their last score). Default: ${DEFAULT-VALUE}.")
    int candidates;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Chooses attention transfer's held-out sequences and hybrid layers' feature draws. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = {"-o", "--output"}, paramLabel = "PLAN.json", description = "Write the plan and every number as JSON (for convert --plan @PLAN.json).")
    Path output;

    @Option(names = "--html", paramLabel = "FILE.html", description = "Write an HTML report: the layers' scores and KL against cache for the plans tried.")
    Path htmlFile;

    @Override
    public Integer call() throws Exception {
        PlanBudget chosen = budget.convertedLayers != null ? new PlanBudget.ConvertedLayers(budget.convertedLayers)
                : budget.maxCache != null ? new PlanBudget.MaxCache(budget.maxCache) : new PlanBudget.MaxDivergence(budget.maxKl);
        TransferOptions transfer = new TransferOptions(true, true, 0, TransferOptions.DEFAULT_LEARNING_RATE, TransferOptions.DEFAULT.heldOutShare(), seed);
        PlanOptions options = new PlanOptions(source, dataOptions.data, dataOptions.tokenizer, tokens, evaluationTokens, dataOptions.sequenceLength, chosen, kindChoices(),
                window, windowChoices(), sinks, localWindow, context, candidates, transfer);
        TerminalProgress progress = quiet.progress(spec.commandLine().getErr());
        PlanReport report = PlanSearch.run(options, progress);
        PrintWriter out = spec.commandLine().getOut();
        out.print(PlanReportText.render(report));
        if (output != null) {
            writeAtomically(output, JsonDocuments.writer().writeValueAsString(PlanReportJson.toJson(report)));
            out.println("wrote " + output + "; convert with: spikeconv convert " + source + " -o BUNDLE --plan @" + output);
        }
        else {
            out.println("next: spikeconv convert " + source + " -o BUNDLE --plan '" + report.plan() + "'");
        }
        if (htmlFile != null) {
            writeAtomically(htmlFile, PlanHtmlReport.render(report));
            progress.stage("wrote the HTML report to " + htmlFile);
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** {@code --kinds} in the plan syntax of a layer. */
    private List<LayerKind> kindChoices() {
        return kinds.stream().map(item -> LayerKind.parse(item.strip(), window, sinks)).toList();
    }

    /** {@code --windows} as sliding-window layers: each item in the plan syntax of a window, {@code W} or {@code W+S}. */
    private List<SlidingWindowLayer> windowChoices() {
        List<SlidingWindowLayer> choices = new ArrayList<>();
        for (String item : windows) {
            if (!item.strip().matches("\\d+(\\+\\d+)?")) {
                throw new InvalidOptionException("windows", "expected W or W+S items such as 512,1024+4, found '" + item + "'");
            }
            choices.add((SlidingWindowLayer) LayerKind.parse("swa/" + item.strip(), window, sinks));
        }
        return choices;
    }

    /** A temporary sibling renamed over {@code file}: a reader never sees half a report. */
    private static void writeAtomically(Path file, String text) throws IOException {
        Path absolute = file.toAbsolutePath();
        Path temporary = Files.createTempFile(absolute.getParent(), "." + absolute.getFileName(), ".tmp");
        try {
            Files.writeString(temporary, text);
            Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        finally {
            Files.deleteIfExists(temporary);
        }
    }
}
