package dev.spikeconv.cli;

/** Exit codes of every command (docs/design.md §7); outside scripts and CI jobs rely on them. */
final class ExitCodes {
    static final int OK = 0;
    /** verify: a goal was missed. */
    static final int GOAL_MISSED = 1;
    static final int USAGE = 2;
    /** sysexits EX_DATAERR: an input file is invalid, corrupt or unsupported. */
    static final int INVALID_INPUT = 65;
    /** sysexits EX_SOFTWARE: a bug in spikeconv. */
    static final int INTERNAL_ERROR = 70;
    /** sysexits EX_IOERR: reading or writing failed. */
    static final int IO_ERROR = 74;

    private ExitCodes() {}
}
