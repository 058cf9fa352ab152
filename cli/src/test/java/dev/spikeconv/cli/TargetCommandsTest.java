package dev.spikeconv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TargetCommandsTest {
    @TempDir
    Path directory;

    private static String stories() {
        return TestModels.stories260K().toString();
    }

    @Test
    void targetsListsEveryProfile() throws IOException {
        CommandRun text = CommandRun.of("targets");
        assertThat(text.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(text.out()).contains("cpu-x86-avx2", "cpu-x86-avx512-vnni", "cpu-arm64-neon-dotprod", "cuda-sm80", "cuda-sm90", "metax-c550",
                "ascend-910b", "neuromorphic-event");
        JsonNode json = JsonDocuments.writer().readTree(CommandRun.of("targets", "--json").out());
        assertThat(json).hasSize(8);
        assertThat(json.get(7).path("constraints").path("threshold_bits").asInt()).isEqualTo(16);
        assertThat(json.get(3).path("source").asText()).contains("FlashAttention");
    }

    @Test
    void convertWithTargetsAndManifestAfterwards() {
        Path bundle = directory.resolve("bundle");
        CommandRun convert = CommandRun.of("convert", stories(), "-o", bundle.toString(), "--target", "cuda-sm80,cpu-x86-avx2");
        assertThat(convert.exitCode()).as(convert.err()).isEqualTo(ExitCodes.OK);
        assertThat(bundle.resolve("manifest.cuda-sm80.json")).exists();
        assertThat(bundle.resolve("manifest.cpu-x86-avx2.json")).exists();
        CommandRun manifest = CommandRun.of("manifest", bundle.toString(), "--target", "ascend-910b", "--context", "1024");
        assertThat(manifest.exitCode()).as(manifest.err()).isEqualTo(ExitCodes.OK);
        assertThat(manifest.out()).contains("manifest.ascend-910b.json");
    }

    @Test
    void aModelThatBreaksATargetFailsTheConversionLoudly() {
        Path bundle = directory.resolve("bundle");
        CommandRun run = CommandRun.of("convert", stories(), "-o", bundle.toString(), "--spike", "off", "--target", "neuromorphic-event");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(run.err()).contains("breaks target neuromorphic-event", "op_family: layer 0 needs int8_gemm");
        assertThat(bundle).doesNotExist();
        assertThat(CommandRun.of("convert", stories(), "-o", bundle.toString(), "--target", "tpu-v9").err()).contains("unknown target 'tpu-v9'");
        assertThat(CommandRun.of("manifest", stories()).exitCode()).isEqualTo(ExitCodes.USAGE);
    }
}
