package dev.spikeconv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConvertCommandTest {
    @TempDir
    Path directory;

    private static String stories() {
        return TestModels.stories260K().toString();
    }

    @Test
    void convertsAndTheBundleRunsInspectsAndGenerates() {
        Path bundle = directory.resolve("bundle");
        CommandRun convert = CommandRun.of("convert", stories(), "-o", bundle.toString(), "--plan", "dense");
        assertThat(convert.exitCode()).as(convert.err()).isEqualTo(ExitCodes.OK);
        assertThat(convert.out()).contains("wrote " + bundle, "plan          dense: 0-4 softmax", "int8, groups of 128", "dynamic, k 3.0, T 127, ternary");
        assertThat(bundle.resolve("config.json")).exists();
        assertThat(bundle.resolve("tokenizer.bin")).exists();
        CommandRun inspect = CommandRun.of("inspect", "--json", bundle.toString());
        assertThat(inspect.out()).contains("\"architecture\" : \"gla_swa\"", "\"dtype\" : \"I8\"");
        CommandRun generate = CommandRun.of("generate", bundle.toString(), "--temperature", "0", "--max-tokens", "12");
        assertThat(generate.exitCode()).as(generate.err()).isEqualTo(ExitCodes.OK);
        assertThat(generate.out()).startsWith("Once upon a time");
    }

    @Test
    void refusesToOverwrite() throws IOException {
        Path bundle = Files.createDirectories(directory.resolve("taken"));
        CommandRun run = CommandRun.of("convert", stories(), "-o", bundle.toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.err()).contains("already exists; pass --force");
        assertThat(CommandRun.of("convert", stories(), "-o", bundle.toString(), "--force").exitCode()).isEqualTo(ExitCodes.OK);
    }

    @Test
    void impossibleOptionsAreUsageErrors() {
        String out = directory.resolve("x").toString();
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--plan", "0-2:gla").err()).contains("does not name layer(s) [3, 4]");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--plan", "magic").exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--coding", "binary").err()).contains("binary");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--layout", "w8aspike").err()).contains("divisible by 128");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--time-steps", "300").err()).contains("time steps");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--group", "zero").err()).contains("--group");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--max-shard-size", "lots").err()).contains("--max-shard-size");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--spike", "static").err()).contains("calibrate");
        assertThat(Path.of(out)).doesNotExist();
    }

    @Test
    void badInputExitsSixtyFive() throws IOException {
        Path broken = Files.writeString(directory.resolve("model.gguf"), "GGUF but not really");
        CommandRun run = CommandRun.of("convert", broken.toString(), "-o", directory.resolve("out").toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(directory.resolve("out")).doesNotExist();
    }

    @Test
    void sizes() {
        assertThat(ConvertCommand.parseSize("5GB")).isEqualTo(5_000_000_000L);
        assertThat(ConvertCommand.parseSize("512MiB")).isEqualTo(512L << 20);
        assertThat(ConvertCommand.parseSize("1000")).isEqualTo(1000);
    }
}
