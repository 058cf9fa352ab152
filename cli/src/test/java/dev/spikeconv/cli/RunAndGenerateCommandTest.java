package dev.spikeconv.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.numpy.NpyFile;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RunAndGenerateCommandTest {
    private static final String STORY = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

    @TempDir
    Path directory;

    private static String stories(String format) {
        return switch (format) {
            case "llama2c" -> TestModels.stories260K().toString();
            case "gguf" -> TestModels.shared("stories260K-gguf", "stories260K.gguf").toString();
            default -> TestModels.shared("stories260K-hf-derived").toString();
        };
    }

    private static String tok512() {
        return TestModels.shared("stories260K-llama2c", "tok512.bin").toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"onnx", "java"})
    void greedyGenerationPrintsThePublishedStory(String engine) {
        CommandRun run = CommandRun.of("generate", stories("llama2c"), "--temperature", "0", "--max-tokens", "40", "--engine", engine);
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).startsWith(STORY);
        assertThat(run.err()).contains("prefill 1 token at", "decode 40 tokens at", "tokens/s");
    }

    @Test
    void jsonGenerationFromGgufWithItsOwnVocabulary() throws IOException {
        CommandRun run = CommandRun.of("generate", stories("gguf"), "--temperature", "0", "--max-tokens", "20", "--json");
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        JsonNode json = JsonDocuments.writer().readTree(run.out());
        int[] ids = StreamSupport.stream(json.get("ids").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
        assertThat(ids).containsExactly(403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337);
        assertThat(json.get("prompt_ids").toString()).isEqualTo("[1]");
        assertThat(json.get("text").asText()).startsWith("Once upon a time, there was a little girl named Lily.");
        assertThat(json.get("stop_reason").asText()).isEqualTo("max_tokens");
    }

    @Test
    void sampledGenerationIsRepeatableWithASeed() {
        String[] arguments = {"generate", stories("gguf"), "--prompt", "Tom had a red ball", "--max-tokens", "25", "--seed", "42"};
        CommandRun first = CommandRun.of(arguments);
        CommandRun second = CommandRun.of(arguments);
        assertThat(first.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(first.out()).startsWith("Tom had a red ball").isEqualTo(second.out());
        assertThat(first.err()).contains("seed 42");
    }

    @Test
    void aCheckpointWithoutTokenizerNeedsOne() {
        CommandRun missing = CommandRun.of("generate", stories("hf"), "--max-tokens", "5");
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(missing.err()).contains("no tokenizer found", "--tokenizer");
        CommandRun given = CommandRun.of("generate", stories("hf"), "--tokenizer", tok512(), "--temperature", "0", "--max-tokens", "40");
        assertThat(given.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(given.out()).startsWith(STORY);
    }

    @Test
    void runDumpsLogitsAsNumpy() throws IOException {
        Path npy = directory.resolve("logits.npy");
        CommandRun run = CommandRun.of("run", stories("hf"), "--tokens", "1,403,407", "--dump-logits", npy.toString(), "--engine", "java");
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("3 tokens on java", "logits written to " + npy);
        float[][] logits = NpyFile.readFloat32(npy);
        assertThat(logits.length).isEqualTo(3);
        assertThat(logits[0]).hasSize(512);
        assertThat(logits[0][403]).isCloseTo(17.024f, within(1e-3f));
    }

    @Test
    void runTokenizesText() {
        CommandRun run = CommandRun.of("run", stories("llama2c"), "--text", "Once upon a time");
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("5 tokens on onnx").containsPattern("0 +1 +403 ' Once'");
    }

    @Test
    void usageErrors() {
        assertThat(CommandRun.of("run", stories("gguf"), "--tokens", "1,512").err()).contains("token id 512 is outside the vocabulary [0, 512)");
        assertThat(CommandRun.of("run", stories("gguf"), "--tokens", "1,512").exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(CommandRun.of("run", stories("gguf"), "--tokens", "1", "--text", "x").exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(CommandRun.of("run", stories("gguf")).exitCode()).isEqualTo(ExitCodes.USAGE);
        CommandRun engine = CommandRun.of("run", stories("gguf"), "--tokens", "1", "--engine", "gpu");
        assertThat(engine.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(engine.err()).contains("expected one of auto, onnx, java, found 'gpu'");
        assertThat(CommandRun.of("generate", stories("gguf"), "--top-p", "1.5").err()).contains("top-p must be in (0, 1]");
        assertThat(CommandRun.of("generate", stories("gguf"), "--threads", "0").exitCode()).isNotEqualTo(ExitCodes.OK);
    }
}
