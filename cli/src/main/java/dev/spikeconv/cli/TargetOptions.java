package dev.spikeconv.cli;

import dev.spikeconv.converter.hardware.ManifestOptions;
import dev.spikeconv.converter.hardware.TargetProfile;
import dev.spikeconv.converter.hardware.TargetProfiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --target}, {@code --target-file}, {@code --batch}, {@code --context}: which manifests to write and for what serving point. */
final class TargetOptions {
    @Option(names = "--target", paramLabel = "ID", split = ",", completionCandidates = Choices.TargetNames.class,
            description = "Shipped target profiles to write manifests for: ${COMPLETION-CANDIDATES} (see spikeconv targets).")
    List<String> targets = List.of();

    @Option(names = "--target-file", paramLabel = "FILE", description = "A target profile of your own (JSON, same fields as the shipped ones).")
    List<Path> targetFiles = List.of();

    @Option(names = "--batch", paramLabel = "N", defaultValue = "1", description = "Sequences served at once, for memory totals. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--context", paramLabel = "TOKENS", defaultValue = "4096", description = "Context length for memory and operation estimates. Default: ${DEFAULT-VALUE}.")
    int context;

    List<TargetProfile> profiles() throws IOException {
        List<TargetProfile> profiles = new ArrayList<>();
        for (String id : targets) {
            profiles.add(TargetProfiles.shipped(id));
        }
        for (Path file : targetFiles) {
            profiles.add(TargetProfiles.read(file));
        }
        return profiles;
    }

    ManifestOptions manifestOptions() {
        return new ManifestOptions(batch, context);
    }
}
