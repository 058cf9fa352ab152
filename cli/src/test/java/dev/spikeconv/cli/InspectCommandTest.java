package dev.spikeconv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
    @TempDir
    Path directory;

    @Test
    void everySharedTestModel() throws IOException {
        Path[] models = {
            TestModels.stories260K(),
            TestModels.shared("stories260K-gguf", "stories260K.gguf"),
            TestModels.shared("stories260K-hf-derived"),
            TestModels.shared("llama2-tiny-random-gguf", "llama-2-tiny-random.gguf"),
        };
        for (Path model : models) {
            CommandRun text = CommandRun.of("inspect", model.toString());
            assertThat(text.exitCode()).as(text.err()).isEqualTo(ExitCodes.OK);
            assertThat(text.out()).contains("architecture  llama");
            CommandRun json = CommandRun.of("inspect", "--json", model.toString());
            assertThat(json.exitCode()).isEqualTo(ExitCodes.OK);
            JsonNode parsed = JsonDocuments.writer().readTree(json.out());
            assertThat(parsed.get("architecture").asText()).isEqualTo("llama");
            assertThat(parsed.get("tensors").size()).isGreaterThan(10);
        }
    }

    @Test
    void tensorTable() {
        CommandRun run = CommandRun.of("inspect", "--tensors", TestModels.testdata("reference", "tiny-qwen2").toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("model.layers.1.self_attn.q_proj.bias", "[16]", "biases        q/k/v");
        assertThat(CommandRun.of("inspect", TestModels.testdata("reference", "tiny-qwen2").toString()).out()).doesNotContain("q_proj.bias");
    }

    @Test
    void invalidInputExitsSixtyFiveWithOneLine() throws IOException {
        Path broken = Files.write(directory.resolve("broken.gguf"), "GGUF\u0003\u0000\u0000\u0000".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        CommandRun run = CommandRun.of("inspect", broken.toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(run.out()).isEmpty();
        assertThat(run.err().strip()).startsWith("spikeconv: " + broken).contains("tensor count").doesNotContain("\n").doesNotContain("at dev.");
        CommandRun debug = CommandRun.of("inspect", "--debug", broken.toString());
        assertThat(debug.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(debug.err()).contains("at dev.spikeconv.formats");
    }

    @Test
    void missingFileIsAnInputOutputError() {
        CommandRun run = CommandRun.of("inspect", directory.resolve("nothing-here.gguf").toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.IO_ERROR);
        assertThat(run.err().strip()).isEqualTo("spikeconv: " + directory.resolve("nothing-here.gguf") + ": no such file or directory");
    }
}
