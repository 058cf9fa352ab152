package dev.spikeconv.cli;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.bundle.BundleTransaction;
import dev.spikeconv.converter.hardware.KernelManifest;
import dev.spikeconv.converter.hardware.TargetProfile;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "manifest", description = "Writes kernel manifests (manifest.<target>.json) into a bundle, refusing targets the model does not fit.")
final class ManifestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HelpOption help;

    @Mixin
    TargetOptions targetOptions;

    @Parameters(paramLabel = "BUNDLE", description = "A bundle written by spikeconv convert.")
    Path bundle;

    @Override
    public Integer call() throws Exception {
        List<TargetProfile> profiles = targetOptions.profiles();
        if (profiles.isEmpty()) {
            throw new InvalidOptionException("target", "is needed: name at least one shipped target or target file");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (ModelDescription model = CheckpointLoader.open(bundle)) {
            if (model.config().architecture() != Architecture.GLA_SWA || !Files.isDirectory(bundle)) {
                throw InvalidInputException.forFile(bundle, "is not a spikeconv bundle; convert it first");
            }
            // Under the bundle's lock: a calibrate running meanwhile would otherwise commit a bundle without this manifest.
            PrintWriter err = spec.commandLine().getErr();
            try (BundleTransaction transaction = BundleTransaction.begin(bundle, note -> err.println("spikeconv: warning: " + note))) {
                for (TargetProfile profile : profiles) {
                    String name = KernelManifest.fileName(profile.id());
                    transaction.replaceFile(name, KernelManifest.bytes(model, bundle, profile, targetOptions.manifestOptions()));
                    out.println("wrote " + bundle.resolve(name));
                }
            }
        }
        out.flush();
        return ExitCodes.OK;
    }
}
