package dev.spikeconv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.json.JsonDocuments;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchCommandTest {
    @TempDir
    Path directory;

    @Test
    void tinyBenchPrintsTablesAndWritesJsonAndHtml() throws IOException {
        Path json = directory.resolve("bench.json");
        Path html = directory.resolve("bench.html");
        CommandRun run = CommandRun.of("bench", "--convert-size", "3MB", "--convert-hidden", "128", "--contexts", "16,32", "--plans", "all-gla",
                "--window", "8", "--hidden", "64", "--head-dim", "32", "--layers", "2", "--intermediate", "96", "--vocab", "128", "--prefill-chunk", "16",
                "--decode-tokens", "2", "--repeats", "1", "--pass-tokens", "64", "--pass-seq-len", "32", "--json", json.toString(), "--html", html.toString());
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("convert (--plan spikingbrain", "GB/s of input", "calibrate statistics", "verify", "prefill growth", "all-gla");
        assertThat(run.err()).contains("context: all-gla");
        JsonNode report = JsonDocuments.writer().readTree(Files.readString(json));
        assertThat(report.path("convert").path("gigabytes_per_second").asDouble()).isPositive();
        assertThat(report.path("passes")).hasSize(4);
        assertThat(report.path("context")).hasSize(4);
        assertThat(Files.readString(html)).contains("<svg");
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThat(CommandRun.of("bench", "--sections", "everything").exitCode()).isEqualTo(ExitCodes.USAGE);
        CommandRun headSize = CommandRun.of("bench", "--hidden", "100", "--head-dim", "64");
        assertThat(headSize.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(headSize.err()).contains("--hidden must be a multiple of the head size (head-dim 64)");
        assertThat(CommandRun.of("bench", "--dtype", "q4").exitCode()).isEqualTo(ExitCodes.USAGE);
        CommandRun group = CommandRun.of("bench", "--group", "x");
        assertThat(group.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(group.err()).contains("--group", "expected a positive number of inputs or row, found 'x'");
    }

    /** The bench replaces what it wrote in its work folder, so it never works in a folder of the user's files. */
    @Test
    void aWorkFolderOfTheUsersFilesIsRefusedAndKept() throws IOException {
        Path work = Files.createDirectories(directory.resolve("mine"));
        Files.writeString(work.resolve("convert-bundle"), "my notes, not a bundle");
        CommandRun run = CommandRun.of("bench", "--sections", "convert", "--convert-size", "2MiB", "--work", work.toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.err()).contains("--work", "holds files the bench did not write");
        assertThat(Files.readString(work.resolve("convert-bundle"))).isEqualTo("my notes, not a bundle");
        Path fresh = directory.resolve("fresh");
        CommandRun again = CommandRun.of("bench", "--sections", "convert", "--convert-size", "2MiB", "--convert-hidden", "128", "--work", fresh.toString());
        assertThat(again.exitCode()).as(again.err()).isEqualTo(ExitCodes.OK);
        assertThat(fresh.resolve(".spikeconv-bench")).exists();
        // a folder the bench worked in is its own: reused
        assertThat(CommandRun.of("bench", "--sections", "convert", "--convert-size", "2MiB", "--convert-hidden", "128", "--work", fresh.toString())
                .exitCode()).isEqualTo(ExitCodes.OK);
    }
}
