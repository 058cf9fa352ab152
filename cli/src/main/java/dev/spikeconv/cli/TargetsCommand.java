package dev.spikeconv.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.converter.hardware.TargetProfile;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.converter.inspect.ModelInspectionText;
import dev.spikeconv.converter.layers.OpFamily;
import dev.spikeconv.formats.json.JsonDocuments;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "targets", description = "Lists the hardware target profiles and their constraints.")
final class TargetsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HelpOption help;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ArrayNode array = JsonNodeFactory.instance.arrayNode();
            for (TargetProfile target : TargetProfiles.shipped()) {
                ObjectNode node = array.addObject().put("id", target.id()).put("name", target.name());
                ArrayNode families = node.putArray("op_families");
                target.ops().keySet().forEach(family -> families.add(family.id()));
                node.putObject("constraints").put("head_dim_multiple", target.constraints().headDimensionMultiple())
                        .put("weight_row_multiple", target.constraints().weightRowMultiple())
                        .put("max_time_steps", target.constraints().maxTimeSteps()).put("threshold_bits", target.constraints().thresholdBits());
                node.put("memory_bytes", target.memory().capacityBytes());
                ObjectNode libraries = node.putObject("kernel_libraries");
                target.kernelLibraries().forEach(libraries::put);
                node.put("source", target.source());
            }
            out.println(JsonDocuments.writer().writeValueAsString(array));
        }
        else {
            out.printf(Locale.ROOT, "%-24s %-10s %-9s %-10s %-6s %s%n", "target", "memory", "head_dim", "time steps", "theta", "op families");
            for (TargetProfile target : TargetProfiles.shipped()) {
                out.printf(Locale.ROOT, "%-24s %-10s %-9s %-10d %-6s %s%n", target.id(), ModelInspectionText.humanBytes(target.memory().capacityBytes()),
                        "x" + target.constraints().headDimensionMultiple(), target.constraints().maxTimeSteps(), target.constraints().thresholdBits() + "b",
                        target.ops().keySet().stream().map(OpFamily::id).collect(Collectors.joining(",")));
            }
            out.println();
            out.println("Write a manifest: spikeconv manifest BUNDLE --target ID (or convert --target ID). Profiles are data: see spikeconv targets --json.");
        }
        out.flush();
        return ExitCodes.OK;
    }
}
