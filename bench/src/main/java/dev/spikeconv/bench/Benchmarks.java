package dev.spikeconv.bench;

import dev.spikeconv.bench.BenchReport.ContextResult;
import dev.spikeconv.bench.BenchReport.ConvertResult;
import dev.spikeconv.bench.BenchReport.PassResult;
import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.formats.io.FileTrees;
import dev.spikeconv.formats.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/** Runs the chosen bench sections in a work folder and collects their results. */
public final class Benchmarks {
    /** The file that marks a work folder as the bench's. */
    static final String WORK_MARK = ".spikeconv-bench";

    private Benchmarks() {}

    public static BenchReport run(BenchOptions options, Consumer<String> progress) throws IOException {
        boolean temporary = options.workFolder() == null;
        Path folder = temporary ? Files.createTempDirectory("spikeconv-bench-") : workFolder(options.workFolder());
        try {
            ConvertResult convert = null;
            if (options.sections().contains(BenchSection.CONVERT)) {
                convert = ConvertBenchmark.run(options, folder, progress);
                deleteTree(folder.resolve("convert-source"));
                deleteTree(folder.resolve("convert-bundle"));
            }
            List<PassResult> passes = List.of();
            List<ContextResult> context = List.of();
            if (options.sections().contains(BenchSection.PASSES) || options.sections().contains(BenchSection.CONTEXT)) {
                Path checkpoint = folder.resolve(contextModelName(options));
                if (!Files.isDirectory(checkpoint)) {
                    progress.accept("generating the context model");
                    // Written beside and renamed, so a killed run leaves nothing a later run would take for a whole model.
                    Path partial = checkpoint.resolveSibling(checkpoint.getFileName() + ".partial");
                    deleteTree(partial);
                    SyntheticCheckpoint.write(partial, options.contextModel(), DType.F32, options.seed());
                    Files.move(partial, checkpoint, StandardCopyOption.ATOMIC_MOVE);
                }
                if (options.sections().contains(BenchSection.PASSES)) {
                    passes = PassBenchmark.run(options, checkpoint, folder, progress);
                }
                if (options.sections().contains(BenchSection.CONTEXT)) {
                    context = ContextBenchmark.run(options, checkpoint, folder, progress);
                }
            }
            BenchReport.ScaleResult scale = null;
            if (options.sections().contains(BenchSection.SCALE)) {
                try {
                    scale = ScaleBenchmark.run(options, folder, progress);
                }
                catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while a scale step ran");
                }
            }
            BenchReport.Environment environment = new BenchReport.Environment(System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(),
                    options.runtime().threads(), ProcessMemory.maximumHeapBytes());
            return new BenchReport(environment, convert, passes, options.contextModel(), options.prefillChunk(), context, scale);
        }
        finally {
            if (temporary) {
                deleteTree(folder);
            }
        }
    }

    /**
     * The {@code --work} folder, marked as the bench's own: the bench replaces what it wrote there, so a folder that holds
     * anything else and no mark is refused (exit 2) rather than written into.
     */
    static Path workFolder(Path folder) throws IOException {
        Files.createDirectories(folder);
        Path mark = folder.resolve(WORK_MARK);
        if (!Files.exists(mark)) {
            try (var entries = Files.list(folder)) {
                if (entries.findAny().isPresent()) {
                    throw new InvalidOptionException("work", folder + " holds files the bench did not write: give a new or empty folder, or one an "
                            + "earlier bench worked in");
                }
            }
            Files.writeString(mark, "spikeconv bench works here and replaces what it wrote\n");
        }
        return folder;
    }

    /** Named by everything that shapes it, so that a work folder reused with other options never reuses a stale model. */
    static String contextModelName(BenchOptions options) {
        SyntheticCheckpoint.Dimensions model = options.contextModel();
        return String.format(Locale.ROOT, "context-model-h%d-i%d-l%d-a%d-kv%d-v%d-s%d", model.hiddenSize(), model.intermediateSize(), model.layers(),
                model.heads(), model.keyValueHeads(), model.vocabularySize(), options.seed());
    }

    static void deleteTree(Path root) throws IOException {
        FileTrees.delete(root);
    }
}
