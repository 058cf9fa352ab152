package dev.spikeconv.cli;

import dev.spikeconv.converter.calibration.CalibrationProgress;
import dev.spikeconv.converter.inspect.ModelInspectionText;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Progress on stderr. On a terminal: each stage on its line and a bar with bytes or steps, rate and ETA. Otherwise (a
 * log file, CI): each stage as one plain line with the seconds since the start, so a long job's log says where it is,
 * and no bars.
 */
final class TerminalProgress implements CalibrationProgress {
    private static final long REDRAW_NANOS = 200_000_000;

    private final PrintWriter err;
    private final boolean terminal;
    /** Only warnings print ({@code --quiet}). */
    private final boolean quiet;
    private final long start = System.nanoTime();
    private long lastDraw;
    private long phaseStart = System.nanoTime();

    TerminalProgress(PrintWriter err, boolean terminal) {
        this(err, terminal, false);
    }

    private TerminalProgress(PrintWriter err, boolean terminal, boolean quiet) {
        this.err = err;
        this.terminal = terminal;
        this.quiet = quiet;
    }

    static TerminalProgress forStderr(PrintWriter err) {
        return new TerminalProgress(err, StandardError.isTerminal());
    }

    /** Progress that prints warnings alone. */
    static TerminalProgress warningsOnly(PrintWriter err) {
        return new TerminalProgress(err, StandardError.isTerminal(), true);
    }

    @Override
    public void stage(String description) {
        if (quiet) {
            return;
        }
        if (terminal) {
            err.print("\r\033[K" + description + "\n");
        }
        else {
            err.printf(Locale.ROOT, "[%7.1f s] %s%n", (System.nanoTime() - start) / 1e9, description);
        }
        err.flush();
    }

    @Override
    public void tensor(String name, long bytesDone, long bytesTotal) {
        long now = System.nanoTime();
        if (quiet || !terminal || (now - lastDraw < REDRAW_NANOS && bytesDone < bytesTotal)) {
            return;
        }
        lastDraw = now;
        double fraction = bytesTotal == 0 ? 1 : (double) bytesDone / bytesTotal;
        int width = 30;
        int filled = (int) Math.round(fraction * width);
        double seconds = (now - start) / 1e9;
        double rate = bytesDone / Math.max(seconds, 1e-9);
        String eta = fraction >= 1 || rate == 0 ? "" : String.format(Locale.ROOT, " ETA %.0fs", (bytesTotal - bytesDone) / rate);
        err.printf(Locale.ROOT, "\r\033[K[%s%s] %3.0f%% %s / %s %s/s%s %s", "=".repeat(filled), " ".repeat(width - filled), fraction * 100,
                ModelInspectionText.humanBytes(bytesDone), ModelInspectionText.humanBytes(bytesTotal), ModelInspectionText.humanBytes((long) rate), eta,
                name.length() > 40 ? "..." + name.substring(name.length() - 37) : name);
        if (bytesDone >= bytesTotal) {
            err.println();
        }
        err.flush();
    }

    @Override
    public void step(String phase, int done, int total) {
        long now = System.nanoTime();
        if (quiet || !terminal || (now - lastDraw < REDRAW_NANOS && done < total)) {
            return;
        }
        if (done <= 1) {
            phaseStart = now;
        }
        lastDraw = now;
        double fraction = total == 0 ? 1 : (double) done / total;
        int width = 30;
        int filled = (int) Math.round(fraction * width);
        double seconds = (now - phaseStart) / 1e9;
        String eta = done == 0 || done >= total ? "" : String.format(Locale.ROOT, " ETA %.0fs", seconds / done * (total - done));
        err.printf(Locale.ROOT, "\r\033[K[%s%s] %d/%d %s%s", "=".repeat(filled), " ".repeat(width - filled), done, total, phase, eta);
        if (done >= total) {
            err.println();
        }
        err.flush();
    }

    @Override
    public void warning(String message) {
        err.println((terminal ? "\r\033[K" : "") + "spikeconv: warning: " + message);
        err.flush();
    }
}
