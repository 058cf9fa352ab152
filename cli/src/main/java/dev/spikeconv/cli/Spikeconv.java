package dev.spikeconv.cli;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.MemoryBudget;
import dev.spikeconv.formats.io.InvalidInputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine;

/** Entry point: runs the {@code spikeconv} command line and maps failures to the named exit codes. */
public final class Spikeconv {
    private Spikeconv() {}

    public static void main(String[] args) {
        StandardError.restore();
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests set its writers and call {@code execute}. */
    public static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new SpikeconvCommand());
        // Wide enough that option descriptions rarely wrap, and as wide as the terminal when there is one.
        commandLine.setUsageHelpWidth(100);
        commandLine.setUsageHelpAutoWidth(true);
        // "@PLAN.json" names a plan file (convert --plan), not a file of arguments to splice in.
        commandLine.setExpandAtFiles(false);
        commandLine.setExecutionExceptionHandler(Spikeconv::handleFailure);
        commandLine.setParameterExceptionHandler(Spikeconv::handleUsageError);
        // Errors (the heap or the stack running out) are not exceptions: picocli lets them through, and they end here as one line too.
        commandLine.setExecutionStrategy(parseResult -> {
            try {
                return new CommandLine.RunLast().execute(parseResult);
            }
            catch (VirtualMachineError error) {
                CommandLine executing = parseResult.asCommandLineList().getLast();
                return handleFailure(error, executing, parseResult);
            }
        });
        return commandLine;
    }

    private static int handleUsageError(CommandLine.ParameterException exception, String[] args) {
        CommandLine command = exception.getCommandLine();
        PrintWriter err = command.getErr();
        err.println("spikeconv: " + exception.getMessage());
        if (!CommandLine.UnmatchedArgumentException.printSuggestions(exception, err)) {
            err.println("Run '" + command.getCommandSpec().qualifiedName() + " --help' for usage.");
        }
        return ExitCodes.USAGE;
    }

    private static int handleFailure(Exception exception, CommandLine command, ParseResult parseResult) {
        return handleFailure((Throwable) exception, command, parseResult);
    }

    /** Every failure as one line on stderr, {@code spikeconv: } and what went wrong, and its exit code; {@code --debug} adds the trace. */
    private static int handleFailure(Throwable exception, CommandLine command, ParseResult parseResult) {
        PrintWriter err = command.getErr();
        Throwable failure = exception instanceof UncheckedIOException unchecked ? unchecked.getCause() : exception;
        int exitCode;
        String message;
        switch (failure) {
            case InvalidOptionException invalid -> {
                exitCode = ExitCodes.USAGE;
                message = flag(command, invalid.option()) + " " + invalid.problem();
            }
            case InvalidInputException invalid -> {
                exitCode = ExitCodes.INVALID_INPUT;
                message = invalid.getMessage();
            }
            case NoSuchFileException missing -> {
                exitCode = ExitCodes.IO_ERROR;
                message = missing.getFile() + ": no such file or directory";
            }
            case AccessDeniedException denied -> {
                exitCode = ExitCodes.IO_ERROR;
                message = denied.getFile() + ": permission denied";
            }
            case FileAlreadyExistsException exists -> {
                exitCode = ExitCodes.IO_ERROR;
                message = exists.getFile() + ": already exists";
            }
            case FileSystemException fileSystem -> {
                exitCode = ExitCodes.IO_ERROR;
                message = fileSystem.getFile() + ": " + fileSystem.getReason();
            }
            case IOException io -> {
                exitCode = ExitCodes.IO_ERROR;
                message = "I/O error: " + io.getMessage();
            }
            case MemoryBudget.InsufficientMemoryException memory -> {
                exitCode = ExitCodes.INTERNAL_ERROR;
                message = MemoryAdvice.tooLarge(memory, flag(command, memory.option()));
            }
            case OutOfMemoryError memory -> {
                exitCode = ExitCodes.INTERNAL_ERROR;
                message = MemoryAdvice.outOfMemory(memory);
            }
            default -> {
                exitCode = ExitCodes.INTERNAL_ERROR;
                message = "internal error: " + failure + (debug(parseResult) ? "" : " (rerun with --debug for the stack trace)");
            }
        }
        err.println("spikeconv: " + oneLine(message));
        if (debug(parseResult)) {
            failure.printStackTrace(err);
        }
        err.flush();
        return exitCode;
    }

    /** The command line's name for an engine setting: the command's option {@code --<option>}, else the setting's own name. */
    private static String flag(CommandLine command, String option) {
        CommandLine.Model.OptionSpec spec = command.getCommandSpec().findOption("--" + option);
        return spec != null ? spec.longestName() : option;
    }

    private static boolean debug(ParseResult parseResult) {
        for (ParseResult result = parseResult; result != null; result = result.subcommand()) {
            if (result.hasMatchedOption("--debug")) {
                return true;
            }
        }
        return false;
    }

    private static String oneLine(String message) {
        return message == null ? "" : message.replace('\n', ' ').replace('\r', ' ');
    }
}
