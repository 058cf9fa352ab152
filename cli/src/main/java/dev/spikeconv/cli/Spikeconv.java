package dev.spikeconv.cli;

import dev.spikeconv.formats.io.InvalidInputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/** Entry point: runs the {@code spikeconv} command line and maps failures to the named exit codes. */
public final class Spikeconv {
    private Spikeconv() {}

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests set its writers and call {@code execute}. */
    public static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new SpikeconvCommand());
        commandLine.setExecutionExceptionHandler(Spikeconv::handleFailure);
        commandLine.setParameterExceptionHandler(Spikeconv::handleUsageError);
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
        PrintWriter err = command.getErr();
        Throwable failure = exception instanceof UncheckedIOException unchecked ? unchecked.getCause() : exception;
        int exitCode;
        String message;
        switch (failure) {
            case InvalidInputException invalid -> {
                exitCode = ExitCodes.INVALID_INPUT;
                message = "error: " + invalid.getMessage();
            }
            case NoSuchFileException missing -> {
                exitCode = ExitCodes.IO_ERROR;
                message = "error: " + missing.getFile() + ": no such file or directory";
            }
            case AccessDeniedException denied -> {
                exitCode = ExitCodes.IO_ERROR;
                message = "error: " + denied.getFile() + ": permission denied";
            }
            case FileAlreadyExistsException exists -> {
                exitCode = ExitCodes.IO_ERROR;
                message = "error: " + exists.getFile() + ": already exists";
            }
            case FileSystemException fileSystem -> {
                exitCode = ExitCodes.IO_ERROR;
                message = "error: " + fileSystem.getFile() + ": " + fileSystem.getReason();
            }
            case IOException io -> {
                exitCode = ExitCodes.IO_ERROR;
                message = "I/O error: " + io.getMessage();
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
