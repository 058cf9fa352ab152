package dev.spikeconv.cli;

import dev.spikeconv.converter.inspect.ModelInspection;
import dev.spikeconv.converter.inspect.ModelInspectionText;
import dev.spikeconv.formats.json.JsonDocuments;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "inspect",
        description = "Shows a model's format, hyper-parameters, attention per layer and size.")
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HelpOption help;

    @Parameters(paramLabel = "PATH", description = "A checkpoint: Hugging Face folder, GGUF file, llama2.c .bin, or a spikeconv bundle.")
    Path path;

    @Option(names = "--json", description = "Print JSON (format, hyper-parameters, layers and tensors) instead of text.")
    boolean json;

    @Option(names = "--tensors", description = "Add the tensor table to the text output.")
    boolean tensors;

    @Override
    public Integer call() throws Exception {
        ModelInspection inspection = ModelInspection.inspect(path);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(JsonDocuments.writer().writeValueAsString(inspection.toJson()));
        }
        else {
            out.print(ModelInspectionText.render(inspection, path.toString(), tensors));
        }
        out.flush();
        return ExitCodes.OK;
    }
}
