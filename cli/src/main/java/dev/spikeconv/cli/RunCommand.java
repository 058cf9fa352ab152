package dev.spikeconv.cli;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.engines.Engines;
import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.execution.InferenceEngine;
import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.converter.inspect.ModelInspectionText;
import dev.spikeconv.converter.metrics.Divergence;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.numpy.NpyFile;
import dev.spikeconv.formats.tensor.TensorView;
import dev.spikeconv.formats.tokenizer.Tokenizer;
import dev.spikeconv.formats.tokenizer.TokenizerLoader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "run", description = "Runs a model on given tokens or text and reports the logits of every position.")
final class RunCommand implements Callable<Integer> {
    private static final int SUMMARY_ROWS = 16;

    @Spec
    CommandSpec spec;

    @Mixin
    HelpOption help;

    @Mixin
    QuietOption quiet;

    @Mixin
    ModelOptions model;

    @ArgGroup(multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--tokens", paramLabel = "IDS", split = ",", description = "Token ids, comma separated, used as given.")
        int[] tokens;

        @Option(names = "--text", paramLabel = "TEXT", description = "Text to tokenize with the model's tokenizer (BOS added unless --no-bos).")
        String text;
    }

    @Option(names = "--no-bos", description = "Do not put BOS before --text.")
    boolean noBos;

    @Option(names = "--dump-logits", paramLabel = "FILE.npy", description = "Write the logits as float32 [tokens, vocab] (NumPy .npy).")
    Path dumpLogits;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Path path = model.path;
        EngineOptions engineOptions = model.engine;
        try (ModelDescription description = CheckpointLoader.open(path)) {
            int vocabulary = description.config().vocabularySize();
            // The model's own tokenizer, when it has one, also names the top-1 tokens of --tokens runs.
            Tokenizer tokenizer = input.text != null || model.tokenizer.tokenizer != null ? model.tokenizer.load(path, vocabulary)
                    : TokenizerLoader.forModel(path, vocabulary).orElse(null);
            int[] tokens = input.text != null ? tokenizer.encode(input.text, !noBos) : input.tokens;
            if (tokens.length == 0) {
                throw new InvalidOptionException(input.text != null ? "text" : "tokens", "gives no tokens to run");
            }
            for (int token : tokens) {
                if (token < 0 || token >= vocabulary) {
                    throw new InvalidOptionException("tokens", "token id " + token + " is outside the vocabulary [0, " + vocabulary + ")");
                }
            }
            float[][] logits;
            long nanos;
            engineOptions.checkBundle(path);
            CalibrationWarning.warnIfUncalibrated(path, description.config(), spec.commandLine().getErr());
            EngineKind kind = engineOptions.engine(description, path);
            quiet.progress(spec.commandLine().getErr()).stage(String.format(Locale.ROOT, "loading %s (%s) on %s", path.getFileName(),
                    ModelInspectionText.humanBytes(description.tensors().values().stream().mapToLong(TensorView::byteSize).sum()), EngineOptions.name(kind)));
            try (InferenceEngine engine = Engines.open(description, path, kind, engineOptions.onnxRuntimeOptions());
                    InferenceSession session = engine.newSession()) {
                long start = System.nanoTime();
                logits = session.forward(tokens);
                nanos = System.nanoTime() - start;
            }
            out.printf(Locale.ROOT, "%d tokens on %s in %.1f ms (%.0f tokens/s)%n", tokens.length, EngineOptions.name(kind),
                    nanos / 1e6, tokens.length / (nanos / 1e9));
            out.printf(Locale.ROOT, "%8s  %8s  %8s  %10s%n", "position", "input", "top-1", "logit");
            for (int t = 0; t < tokens.length; t++) {
                if (t == SUMMARY_ROWS / 2 && tokens.length > SUMMARY_ROWS) {
                    out.printf("%8s%n", "...");
                    t = tokens.length - SUMMARY_ROWS / 2;
                }
                int top = Divergence.argmax(logits[t]);
                out.printf(Locale.ROOT, "%8d  %8d  %8s  %10.4f%n", t, tokens[t], top + describe(tokenizer, top), logits[t][top]);
            }
            if (dumpLogits != null) {
                NpyFile.writeFloat32(dumpLogits, logits);
                out.printf(Locale.ROOT, "logits written to %s (float32 %s)%n", dumpLogits, Arrays.toString(new int[] {tokens.length, vocabulary}));
            }
            out.flush();
            return ExitCodes.OK;
        }
    }

    private static String describe(Tokenizer tokenizer, int id) {
        if (tokenizer == null) {
            return "";
        }
        String text = new String(tokenizer.tokenBytes(0, id), StandardCharsets.UTF_8).replace("\n", "\\n");
        return text.length() > 12 ? "" : " '" + text + "'";
    }
}
