package dev.spikeconv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CalibrateCommandTest {
    @TempDir
    Path directory;

    private static String source() {
        return TestModels.stories260K().toString();
    }

    private static String text() {
        return TestModels.tinyStories().toString();
    }

    private Path convert(String name, String plan) {
        Path bundle = directory.resolve(name);
        CommandRun run = CommandRun.of("convert", source(), "-o", bundle.toString(), "--plan", plan, "--window", "256", "--target", "neuromorphic-event");
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        return bundle;
    }

    @Test
    void calibratesAHybridAndVerifyThenPassesItsGoals() throws IOException {
        Path bundle = convert("hybrid", "alternate");
        CommandRun run = CommandRun.of("calibrate", bundle.toString(), "--data", text(), "--reference", source(), "--tokens", "1024", "--seq-len", "256",
                "--method", "mse", "--target-sparsity", "0.95", "--target", "neuromorphic-event");
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("attention transfer", "model.layers.0.attn.q_proj", "total      sparsity 0.95", "neuromorphic-event table");
        String calibration = Files.readString(bundle.resolve("calibration.json"));
        assertThat(calibration).contains("\"method\" : \"mse\"", "\"tensor_digest\"", "\"threshold_bits\" : 16", "\"mode\" : \"static\"");
        // the manifest now counts measured spikes and holds the thresholds' hashes
        String manifest = Files.readString(bundle.resolve("manifest.neuromorphic-event.json"));
        assertThat(manifest).contains("\"activity_source\" : \"measured by calibrate\"", "attn.q_proj.spike_threshold_int");
        CommandRun verify = CommandRun.of("verify", bundle.toString(), "--reference", source(), "--data", text(), "--skip-tokens", "1024", "--tokens", "512",
                "--seq-len", "256", "--engine-tokens", "16", "--max-kl", "1");
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(ExitCodes.OK);
        assertThat(verify.out()).contains("the linear branch is useful");
    }

    @Test
    void badRequestsGetTheirExitCodes() throws IOException {
        Path hybrid = convert("usage", "alternate");
        assertThat(CommandRun.of("calibrate", hybrid.toString(), "--data", text()).exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(CommandRun.of("calibrate", hybrid.toString(), "--data", text(), "--transfer", "none", "--method", "dynamic").exitCode())
                .isEqualTo(ExitCodes.USAGE);
        assertThat(CommandRun.of("calibrate", hybrid.toString(), "--data", text(), "--method", "median").exitCode()).isEqualTo(ExitCodes.USAGE);
        Path ids = directory.resolve("ids.txt");
        Files.writeString(ids, "1 2 3 99999");
        CommandRun invalid = CommandRun.of("calibrate", hybrid.toString(), "--data", ids.toString(), "--transfer", "none");
        assertThat(invalid.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(invalid.err()).contains("token 99999");
        assertThat(CommandRun.of("calibrate", directory.resolve("missing").toString(), "--data", text()).exitCode()).isEqualTo(ExitCodes.IO_ERROR);
    }
}
