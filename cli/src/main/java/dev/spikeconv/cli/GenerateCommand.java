package dev.spikeconv.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.engines.Engines;
import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.execution.InferenceEngine;
import dev.spikeconv.converter.execution.SamplingOptions;
import dev.spikeconv.converter.execution.TextGenerator;
import dev.spikeconv.converter.inspect.ModelInspectionText;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.TensorView;
import dev.spikeconv.formats.tokenizer.TextDecoder;
import dev.spikeconv.formats.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "generate", description = "Generates text from a prompt, streaming it to stdout; speed goes to stderr.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HelpOption help;

    @Mixin
    QuietOption quiet;

    @Mixin
    ModelOptions model;

    @Option(names = "--prompt", paramLabel = "TEXT", defaultValue = "", description = "Text to continue (BOS is always put first). Default: empty.")
    String prompt;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "256", description = "Most tokens to generate. Default: ${DEFAULT-VALUE}.")
    int maxTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0", description = "0 is greedy. Default: ${DEFAULT-VALUE}.")
    float temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.9", description = "Nucleus sampling threshold in (0, 1]. Default: ${DEFAULT-VALUE}.")
    float topP;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed. Default: from the clock, printed to stderr so a run can be repeated.")
    Long seed;

    @Option(names = "--json", description = "Print one JSON object (text, token ids, speed) instead of streaming text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (maxTokens < 0) {
            throw new InvalidOptionException("max-tokens", "must be >= 0, found " + maxTokens);
        }
        long chosenSeed = seed != null ? seed : System.nanoTime();
        SamplingOptions sampling = new SamplingOptions(temperature, topP, chosenSeed);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path path = model.path;
        EngineOptions engineOptions = model.engine;
        try (ModelDescription description = CheckpointLoader.open(path)) {
            Tokenizer tokenizer = model.tokenizer.load(path, description.config().vocabularySize());
            OptionalInt bos = tokenizer.bosTokenId().isPresent() ? tokenizer.bosTokenId() : description.config().bosTokenId();
            OptionalInt eos = description.config().eosTokenId().isPresent() ? description.config().eosTokenId() : tokenizer.eosTokenId();
            int[] promptIds = tokenizer.encode(prompt, true);
            if (promptIds.length == 0) {
                throw new InvalidOptionException("prompt", "must not be empty: the tokenizer has no BOS token to start from");
            }
            // The decoder sees the prompt too: a continuation's first piece keeps the space it starts with.
            TextDecoder decoder = new TextDecoder(tokenizer);
            StringBuilder prompted = new StringBuilder();
            for (int id : promptIds) {
                prompted.append(decoder.append(id));
            }
            if (!json) {
                out.print(prompted);
                out.flush();
            }
            StringBuilder continuation = new StringBuilder();
            TextGenerator.Generation generation;
            engineOptions.checkBundle(path);
            CalibrationWarning.warnIfUncalibrated(path, description.config(), spec.commandLine().getErr());
            EngineKind kind = engineOptions.engine(description, path);
            quiet.progress(spec.commandLine().getErr()).stage(String.format(Locale.ROOT, "loading %s (%s) on %s", path.getFileName(),
                    ModelInspectionText.humanBytes(description.tensors().values().stream().mapToLong(TensorView::byteSize).sum()), EngineOptions.name(kind)));
            long loadStart = System.nanoTime();
            double loadSeconds;
            try (InferenceEngine engine = Engines.open(description, path, kind, engineOptions.onnxRuntimeOptions())) {
                loadSeconds = (System.nanoTime() - loadStart) / 1e9;
                generation = new TextGenerator(engine).generate(promptIds, maxTokens, sampling, bos, eos, id -> {
                    String text = decoder.append(id);
                    continuation.append(text);
                    if (!json) {
                        out.print(text);
                        out.flush();
                    }
                });
            }
            String rest = decoder.finish();
            continuation.append(rest);
            if (json) {
                out.println(JsonDocuments.writer().writeValueAsString(toJson(generation, continuation.toString(), chosenSeed, kind)));
            }
            else {
                out.println(rest);
            }
            out.flush();
            // The seed matters only when sampling; greedy decoding does not draw.
            String seedText = temperature > 0 ? ", seed " + chosenSeed : "";
            err.printf(Locale.ROOT, "spikeconv: %s%s: loaded in %.1f s, prefill %s at %.1f tokens/s, decode %s at %.1f tokens/s%s%n",
                    EngineOptions.name(kind), seedText, loadSeconds, tokens(generation.promptIds().length), generation.prefillTokensPerSecond(),
                    tokens(generation.generatedIds().length), generation.decodeTokensPerSecond(), generation.stoppedByToken() ? ", stopped at an end token" : "");
            err.flush();
            return ExitCodes.OK;
        }
    }

    private static String tokens(int count) {
        return count == 1 ? "1 token" : count + " tokens";
    }

    private ObjectNode toJson(TextGenerator.Generation generation, String text, long chosenSeed, EngineKind kind) {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.put("prompt", prompt);
        json.put("text", text);
        ArrayNode promptIds = json.putArray("prompt_ids");
        Arrays.stream(generation.promptIds()).forEach(promptIds::add);
        ArrayNode ids = json.putArray("ids");
        Arrays.stream(generation.generatedIds()).forEach(ids::add);
        json.put("stop_reason", generation.stoppedByToken() ? "end_token" : "max_tokens");
        json.put("seed", chosenSeed);
        json.put("engine", EngineOptions.name(kind));
        json.put("prefill_tokens_per_second", generation.prefillTokensPerSecond());
        json.put("decode_tokens_per_second", generation.decodeTokensPerSecond());
        return json;
    }
}
