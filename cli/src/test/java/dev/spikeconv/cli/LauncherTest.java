package dev.spikeconv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** bin/spikeconv as a user runs it (the jar is built before the tests): stderr holds spikeconv's own lines, not the JVM's notice. */
class LauncherTest {
    private record Run(int exitCode, String out, String err) {}

    private static Run launch(Map<String, String> environment, String... arguments) throws IOException, InterruptedException {
        Path root = TestModels.repositoryRoot();
        List<String> command = new java.util.ArrayList<>(List.of(root.resolve("bin").resolve("spikeconv").toString()));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command).directory(root.toFile());
        builder.environment().remove("SPIKECONV_JAVA_OPTS");
        builder.environment().putAll(environment);
        Process process = builder.start();
        process.getOutputStream().close();
        byte[] out = process.getInputStream().readAllBytes();
        byte[] err = process.getErrorStream().readAllBytes();
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Run(process.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    @Test
    void stderrCarriesNoJvmNotice() throws Exception {
        Run targets = launch(Map.of(), "targets");
        assertThat(targets.exitCode()).as(targets.err()).isZero();
        assertThat(targets.out()).contains("cpu-x86-avx2");
        assertThat(targets.err()).isEmpty();
        // spikeconv's own errors still reach stderr, Java's and native code's alike
        Run missing = launch(Map.of(), "inspect", "/nonexistent/model");
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.IO_ERROR);
        assertThat(missing.err()).isEqualTo("spikeconv: /nonexistent/model: no such file or directory\n");
    }

    @Test
    void jvmOptionsTheJvmRefusesAreReported() throws Exception {
        Run run = launch(Map.of("SPIKECONV_JAVA_OPTS", "-Xmx1q"), "targets");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.INTERNAL_ERROR);
        assertThat(run.err()).startsWith("spikeconv: the JVM does not start with SPIKECONV_JAVA_OPTS='-Xmx1q':").contains("Invalid maximum heap size");
    }

    /**
     * A JVM started with the launcher's property but not by the launcher (a child given its parent's JVM options, as the
     * scale bench starts its steps) keeps its own descriptors: it once crashed closing a file of the JVM's that sat on 3.
     */
    @Test
    void thePropertyAloneLeavesTheDescriptorsAlone() throws Exception {
        Path root = TestModels.repositoryRoot();
        String java = ProcessHandle.current().info().command().orElse("java");
        Process process = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Dspikeconv.stderr=3",
                "-jar", root.resolve("cli").resolve("target").resolve("spikeconv.jar").toString(), "inspect", "/nonexistent/model").start();
        process.getOutputStream().close();
        byte[] err = process.getErrorStream().readAllBytes();
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isEqualTo(ExitCodes.IO_ERROR);
        assertThat(new String(err, StandardCharsets.UTF_8)).endsWith("spikeconv: /nonexistent/model: no such file or directory\n");
    }
}
