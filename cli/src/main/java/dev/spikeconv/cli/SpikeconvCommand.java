package dev.spikeconv.cli;

import dev.spikeconv.converter.SpikeconvVersion;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

@Command(
        name = "spikeconv",
        mixinStandardHelpOptions = true,
        versionProvider = SpikeconvCommand.Version.class,
        description = "Converts dense transformer checkpoints into SpikingBrain-style spiking models, and checks them.",
        subcommands = {
            InspectCommand.class,
            PlanCommand.class,
            ConvertCommand.class,
            CalibrateCommand.class,
            ManifestCommand.class,
            VerifyCommand.class,
            TargetsCommand.class,
            RunCommand.class,
            GenerateCommand.class,
            BenchCommand.class,
            AutoComplete.GenerateCompletion.class,
            CommandLine.HelpCommand.class,
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:a verify goal was missed",
            "2:usage error",
            "65:invalid, corrupt or unsupported input",
            "70:internal error (a bug; --debug shows the stack trace), or a step that does not fit the Java heap",
            "74:I/O error",
        })
final class SpikeconvCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Print stack traces of failures.")
    boolean debug;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "a command is required");
    }

    /** The project version and the Java that runs it. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"spikeconv " + SpikeconvVersion.get(), "Java " + Runtime.version()};
        }
    }
}
