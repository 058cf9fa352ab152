package dev.spikeconv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SpikeconvCommandTest {
    @Test
    void version() {
        CommandRun run = CommandRun.of("--version");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).startsWith("spikeconv 0.1.0").contains("Java 25");
    }

    @Test
    void helpListsTheCommandsAndExitCodes() {
        CommandRun run = CommandRun.of("--help");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("inspect", "generate-completion", "65   invalid, corrupt or unsupported input");
    }

    @Test
    void usageErrorsExitTwo() {
        assertThat(CommandRun.of().exitCode()).isEqualTo(ExitCodes.USAGE);
        CommandRun unknown = CommandRun.of("convertt");
        assertThat(unknown.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(unknown.err()).contains("Unmatched argument");
        CommandRun badOption = CommandRun.of("inspect", "--bogus", "x");
        assertThat(badOption.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(badOption.err()).contains("--bogus");
    }

    @Test
    void completionScript() {
        CommandRun run = CommandRun.of("generate-completion");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("complete -F", "spikeconv", "inspect");
    }
}
