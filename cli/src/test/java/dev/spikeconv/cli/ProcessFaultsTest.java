package dev.spikeconv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line as a separate process, stopped the hard way: killed at random points, or cut off by
 * a file-size limit standing in for a full disk. Nothing half-written may look like a result.
 */
class ProcessFaultsTest {
    @TempDir
    Path directory;

    /** A child JVM running the CLI with the test's class path and the launcher's flags; {@code limitKiB} > 0 caps file sizes (ulimit -f). */
    private static ProcessBuilder spikeconv(Path directory, long limitKiB, String... arguments) {
        List<String> command = new ArrayList<>();
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> jvm = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"), Spikeconv.class.getName()));
        jvm.addAll(List.of(arguments));
        if (limitKiB > 0) {
            // Writes past the limit then fail with EFBIG, as on a full disk, instead of raising SIGXFSZ.
            command.addAll(List.of("/bin/sh", "-c", "trap '' XFSZ; ulimit -f " + limitKiB + "; exec \"$@\"", "spikeconv"));
        }
        command.addAll(jvm);
        return new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(false);
    }

    private static Result run(ProcessBuilder builder) throws IOException, InterruptedException {
        Process process = builder.start();
        process.getOutputStream().close();
        byte[] out = process.getInputStream().readAllBytes();
        byte[] err = process.getErrorStream().readAllBytes();
        assertThat(process.waitFor(300, TimeUnit.SECONDS)).isTrue();
        return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    private record Result(int exitCode, String out, String err) {}

    private List<String> entries() throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(path -> path.getFileName().toString()).filter(name -> !name.equals(".out.lock")).sorted().toList();
        }
    }

    @Test
    void aConversionKilledAtAnyPointLeavesNoPartialOutput() throws Exception {
        String source = TestModels.stories260K().toString();
        SplittableRandom random = new SplittableRandom(9);
        for (int attempt = 0; attempt < 4; attempt++) {
            Process process = spikeconv(directory, 0, "convert", source, "-o", "out", "--plan", "spikingbrain", "--force").start();
            Thread.sleep(random.nextInt(300, 2500));
            process.destroyForcibly();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            // Either the whole bundle is there (the run finished first) or nothing but hidden staging.
            if (Files.exists(directory.resolve("out"))) {
                assertThat(run(spikeconv(directory, 0, "verify", "out", "--reference", source, "--data", TestModels.tinyStories().toString(),
                        "--tokens", "64", "--engine-tokens", "8", "--max-kl", "100", "--max-kl-p99", "100", "--min-top1", "0", "--max-ppl-ratio", "1000",
                        "--allow-useless-linear-branch")).exitCode()).isEqualTo(ExitCodes.OK);
            }
            assertThat(entries()).allMatch(name -> name.equals("out") || name.startsWith(".out.tmp-") || name.startsWith(".out.old-"));
            deleteTree(directory.resolve("out"));
        }
        Result again = run(spikeconv(directory, 0, "convert", source, "-o", "out", "--plan", "spikingbrain"));
        assertThat(again.exitCode()).as(again.err()).isEqualTo(ExitCodes.OK);
        // the next run cleaned up what the killed ones left
        assertThat(entries()).containsExactly("out");
    }

    /** Ctrl-C or SIGTERM runs the shutdown hook: no staging folder and no lock stay behind (only SIGKILL leaves them to the next run). */
    @Test
    void anInterruptedConversionCleansUpAfterItself() throws Exception {
        String source = TestModels.stories260K().toString();
        SplittableRandom random = new SplittableRandom(4);
        for (int attempt = 0; attempt < 3; attempt++) {
            Process process = spikeconv(directory, 0, "convert", source, "-o", "out", "--plan", "spikingbrain", "--force").start();
            Thread.sleep(random.nextInt(400, 2000));
            process.destroy();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            try (Stream<Path> files = Files.list(directory)) {
                assertThat(files.map(path -> path.getFileName().toString()).toList()).allMatch(name -> name.equals("out"));
            }
        }
    }

    @Test
    void forceNeverReplacesTheCurrentFolder() throws Exception {
        Files.writeString(directory.resolve("notes.txt"), "keep me");
        Result result = run(spikeconv(directory, 0, "convert", TestModels.stories260K().toString(), "-o", ".", "--force"));
        assertThat(result.exitCode()).as(result.err()).isEqualTo(ExitCodes.USAGE);
        assertThat(result.err()).contains("it is the current folder or holds it");
        assertThat(Files.readString(directory.resolve("notes.txt"))).isEqualTo("keep me");
        Result parent = run(spikeconv(directory, 0, "convert", TestModels.stories260K().toString(), "-o", "..", "--force"));
        assertThat(parent.err()).contains("it is the current folder or holds it");
    }

    @Test
    void aFullDiskEndsWithExit74AndNoOutput() throws Exception {
        Result result = run(spikeconv(directory, 300, "convert", TestModels.stories260K().toString(), "-o", "out", "--plan", "dense"));
        assertThat(result.exitCode()).as(result.out() + result.err()).isEqualTo(ExitCodes.IO_ERROR);
        assertThat(result.err().lines().filter(line -> line.startsWith("spikeconv:")).toList()).singleElement().asString().contains("File too large");
        assertThat(entries()).isEmpty();
    }

    @Test
    void anOutputThatCannotBeCreatedEndsWithExit74() throws Exception {
        Files.writeString(directory.resolve("file"), "not a folder");
        Result result = run(spikeconv(directory, 0, "convert", TestModels.stories260K().toString(), "-o", "file/out"));
        assertThat(result.exitCode()).isEqualTo(ExitCodes.IO_ERROR);
        assertThat(result.err()).contains("spikeconv: ").doesNotContain("\tat ");
    }

    @Test
    void aKilledCalibrationResumesAndEndsAsAnUninterruptedOne() throws Exception {
        String source = TestModels.stories260K().toString();
        String data = TestModels.tinyStories().toString();
        for (String bundle : List.of("interrupted", "uninterrupted")) {
            assertThat(run(spikeconv(directory, 0, "convert", source, "-o", bundle, "--plan", "dense")).exitCode()).isEqualTo(ExitCodes.OK);
        }
        String[] calibrate = {"--data", data, "--tokens", "4096", "--seq-len", "64", "--checkpoint-every", "1", "--method", "mse"};
        Process process = spikeconv(directory, 0, concat(new String[] {"calibrate", "interrupted"}, calibrate)).start();
        Path checkpoint = directory.resolve("interrupted.calibrate-checkpoint");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(checkpoint) && process.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        process.destroyForcibly();
        process.waitFor(60, TimeUnit.SECONDS);
        assertThat(checkpoint).exists();
        assertThat(directory.resolve("interrupted").resolve("calibration.json")).doesNotExist();

        Result resumed = run(spikeconv(directory, 0, concat(new String[] {"calibrate", "interrupted"}, calibrate)));
        assertThat(resumed.exitCode()).as(resumed.err()).isEqualTo(ExitCodes.OK);
        // SIGKILL runs no shutdown hook: the lock it left is taken over, and the user told so
        assertThat(resumed.err()).contains("resuming calibration after layer", "spikeconv: warning: an interrupted spikeconv left .interrupted.lock");
        assertThat(directory.resolve(".interrupted.lock")).doesNotExist();
        assertThat(run(spikeconv(directory, 0, concat(new String[] {"calibrate", "uninterrupted"}, calibrate))).exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(checkpoint).doesNotExist();
        assertThat(Files.readString(directory.resolve("interrupted").resolve("calibration.json")))
                .isEqualTo(Files.readString(directory.resolve("uninterrupted").resolve("calibration.json")));
    }

    private static String[] concat(String[] first, String[] second) {
        String[] all = new String[first.length + second.length];
        System.arraycopy(first, 0, all, 0, first.length);
        System.arraycopy(second, 0, all, first.length, second.length);
        return all;
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
