package dev.spikeconv.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Option;

/** {@code -q, --quiet} for the commands that report progress: no stages or bars on stderr; warnings and errors still print. */
final class QuietOption {
    @Option(names = {"-q", "--quiet"}, description = "No progress on stderr; warnings and errors still print.")
    boolean quiet;

    /** The command's progress on {@code err}: as the terminal suits, or warnings alone when quiet. */
    TerminalProgress progress(PrintWriter err) {
        return quiet ? TerminalProgress.warningsOnly(err) : TerminalProgress.forStderr(err);
    }
}
