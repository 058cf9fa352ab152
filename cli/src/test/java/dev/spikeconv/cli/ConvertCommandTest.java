package dev.spikeconv.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

    /** {@code --quiet}: no progress on stderr, the summary still on stdout, warnings still on stderr. */
    @Test
    void quietLeavesWarningsAlone() {
        Path bundle = directory.resolve("quiet");
        CommandRun convert = CommandRun.of("convert", stories(), "-o", bundle.toString(), "--quiet");
        assertThat(convert.exitCode()).as(convert.err()).isEqualTo(ExitCodes.OK);
        assertThat(convert.err()).isEmpty();
        assertThat(convert.out()).contains("wrote " + bundle, "spikeconv calibrate");
        CommandRun run = CommandRun.of("run", bundle.toString(), "--tokens", "1,2,3", "-q");
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        assertThat(run.err().lines()).singleElement().asString().startsWith("spikeconv: warning: ").contains("never fitted");
    }

    @Test
    void refusesToOverwrite() throws IOException {
        Path bundle = Files.createDirectories(directory.resolve("taken"));
        CommandRun run = CommandRun.of("convert", stories(), "-o", bundle.toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.err()).contains("--force is needed to replace", "which already exists");
        assertThat(CommandRun.of("convert", stories(), "-o", bundle.toString(), "--force").exitCode()).isEqualTo(ExitCodes.OK);
        // a bundle spikeconv wrote may be replaced again
        assertThat(CommandRun.of("convert", stories(), "-o", bundle.toString(), "--force", "--plan", "dense").exitCode()).isEqualTo(ExitCodes.OK);
    }

    /** --force replaces an empty folder or a bundle, never a folder of the user's files, the input, or a folder holding it. */
    @Test
    void forceNeverDeletesAUsersFiles() throws IOException {
        Path work = Files.createDirectories(directory.resolve("work"));
        Files.writeString(work.resolve("thesis.txt"), "three years of work");
        Files.createDirectories(work.resolve("sub"));
        CommandRun run = CommandRun.of("convert", stories(), "-o", work.toString(), "--force");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.err()).contains("will not replace " + work, "holds files and is not a spikeconv bundle");
        assertThat(Files.readString(work.resolve("thesis.txt"))).isEqualTo("three years of work");
        assertThat(work.resolve("sub")).isDirectory();

        Path input = Files.createDirectories(directory.resolve("input"));
        Path model = Files.copy(Path.of(stories()), input.resolve("stories260K.bin"));
        CommandRun intoInput = CommandRun.of("convert", model.toString(), "-o", input.toString(), "--force");
        assertThat(intoInput.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(intoInput.err()).contains("it is the input or holds it");
        assertThat(model).exists();
        CommandRun intoParent = CommandRun.of("convert", model.toString(), "-o", directory.toString(), "--force");
        assertThat(intoParent.err()).contains("it is the input or holds it");

        Files.writeString(directory.resolve("a-file"), "text");
        assertThat(CommandRun.of("convert", stories(), "-o", directory.resolve("a-file").toString(), "--force").err()).contains("it is a file");
        Path empty = Files.createDirectories(directory.resolve("empty"));
        assertThat(CommandRun.of("convert", stories(), "-o", empty.toString(), "--force").exitCode()).isEqualTo(ExitCodes.OK);
    }

    @Test
    void impossibleOptionsAreUsageErrors() {
        String out = directory.resolve("x").toString();
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--plan", "0-2:gla").err()).contains("does not name layer(s) [3, 4]");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--plan", "magic").exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--coding", "binary").err()).contains("binary");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--layout", "w8aspike").err()).contains("divisible by 128");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--time-steps", "300").err()).contains("--time-steps must be in [1, 127], found 300");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--group", "zero").err()).contains("--group");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--max-shard-size", "lots").err()).contains("--max-shard-size");
        assertThat(CommandRun.of("convert", stories(), "-o", out, "--spike", "static").err()).contains("expected one of dynamic, off, found 'static'");
        CommandRun nothingToCalibrate = CommandRun.of("convert", stories(), "-o", out, "--plan", "all-swa", "--spike", "off", "--calibrate",
                TestModels.tinyStories().toString());
        assertThat(nothingToCalibrate.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(nothingToCalibrate.err()).contains("--calibrate nothing to calibrate");
        CommandRun noText = CommandRun.of("convert", stories(), "-o", out, "--calibrate", directory.resolve("missing.txt").toString());
        assertThat(noText.exitCode()).isEqualTo(ExitCodes.IO_ERROR);
        assertThat(noText.err()).contains("missing.txt");
        assertThat(Path.of(out)).doesNotExist();
    }

    /** {@code --calibrate}: convert and calibrate in one step, the bundle fitted and no "next: calibrate" line. */
    @Test
    void calibratesInTheSameStep() throws IOException {
        Path bundle = directory.resolve("calibrated");
        CommandRun convert = CommandRun.of("convert", stories(), "-o", bundle.toString(), "--plan", "alternate", "--window", "64",
                "--calibrate", TestModels.tinyStories().toString(), "--calibrate-tokens", "1024");
        assertThat(convert.exitCode()).as(convert.err()).isEqualTo(ExitCodes.OK);
        assertThat(convert.out()).contains("wrote " + bundle, "calibrated " + bundle + " on 1024 tokens", "attention transfer").doesNotContain("next:");
        assertThat(Files.readString(bundle.resolve("config.json"))).contains("\"attention_transfer\" : true");
        CommandRun run = CommandRun.of("run", bundle.toString(), "--tokens", "1,2,3");
        assertThat(run.err()).doesNotContain("never fitted");
    }

    @Test
    void badInputExitsSixtyFive() throws IOException {
        Path broken = Files.writeString(directory.resolve("model.gguf"), "GGUF but not really");
        CommandRun run = CommandRun.of("convert", broken.toString(), "-o", directory.resolve("out").toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(directory.resolve("out")).doesNotExist();
    }

    @Test
    void sizesAndGroups() {
        Sizes.ByteSize sizes = new Sizes.ByteSize();
        assertThat(sizes.convert("5GB")).isEqualTo(5_000_000_000L);
        assertThat(sizes.convert("512MiB")).isEqualTo(512L << 20);
        assertThat(sizes.convert("1000")).isEqualTo(1000);
        assertThatThrownBy(() -> sizes.convert("5 gigs")).hasMessageContaining("expected a size such as 500MB");
        assertThatThrownBy(() -> sizes.convert("99999999999TB")).hasMessageContaining("too large");
        Sizes.Group groups = new Sizes.Group();
        assertThat(groups.convert("row")).isZero();
        assertThat(groups.convert("64")).isEqualTo(64);
        assertThatThrownBy(() -> groups.convert("0")).hasMessageContaining("a positive number of inputs or row");
    }

    /** Settings the engine refuses are usage errors naming the option the user wrote; lower-case choices are listed when wrong. */
    @Test
    void refusedSettingsNameTheirOption() throws IOException {
        Path out = directory.resolve("out");
        CommandRun window = CommandRun.of("convert", TestModels.stories260K().toString(), "-o", out.toString(), "--plan", "all-swa", "--window", "0");
        assertThat(window.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(window.err()).isEqualTo("spikeconv: --window must be at least 1, found 0\n");
        CommandRun plan = CommandRun.of("convert", TestModels.stories260K().toString(), "-o", out.toString(), "--plan", "0:gla,1-4:swa/0");
        assertThat(plan.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(plan.err()).startsWith("spikeconv: --plan 'swa/0': the window must be at least 1");
        CommandRun coding = CommandRun.of("convert", TestModels.stories260K().toString(), "-o", out.toString(), "--coding", "binary");
        assertThat(coding.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(coding.err()).contains("expected one of ternary, bitwise, found 'binary'");
        assertThat(out).doesNotExist();
    }
}
