package dev.spikeconv.bench;

import dev.spikeconv.bench.BenchReport.ConvertResult;
import dev.spikeconv.bench.BenchReport.MemoryPeak;
import dev.spikeconv.bench.SyntheticCheckpoint.Dimensions;
import dev.spikeconv.converter.bundle.BundleWriter;
import dev.spikeconv.converter.bundle.ConversionOptions;
import dev.spikeconv.converter.bundle.ConversionProgress;
import dev.spikeconv.converter.plan.LayerPlans;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

/** Converts a generated checkpoint with the spikingbrain plan and times it. */
final class ConvertBenchmark {
    private ConvertBenchmark() {}

    static ConvertResult run(BenchOptions options, Path folder, Consumer<String> progress) throws IOException {
        Dimensions dimensions = options.convertWidth().withLayersForBytes(options.convertBytes(), options.convertDtype());
        Path checkpoint = folder.resolve("convert-source");
        progress.accept(String.format(Locale.ROOT, "convert: generating a %s checkpoint of %d layers (hidden %d)", options.convertDtype().name().toLowerCase(Locale.ROOT),
                dimensions.layers(), dimensions.hiddenSize()));
        long bytes = SyntheticCheckpoint.write(checkpoint, dimensions, options.convertDtype(), options.seed());
        Path output = folder.resolve("convert-bundle");
        double[] seconds = new double[options.repeats()];
        MemoryPeak peak = null;
        for (int repeat = 0; repeat < options.repeats(); repeat++) {
            System.gc();
            try (ProcessMemory memory = ProcessMemory.watch(); ModelDescription source = CheckpointLoader.open(checkpoint)) {
                ConversionOptions conversion = conversionOptions(options, "spikingbrain", source.config());
                long start = System.nanoTime();
                BundleWriter.convert(source, checkpoint, output, conversion, ConversionProgress.NONE);
                seconds[repeat] = (System.nanoTime() - start) / 1e9;
                peak = memory.peak().max(peak);
            }
            progress.accept(String.format(Locale.ROOT, "convert: run %d of %d, %.1f s (%.2f GB/s)", repeat + 1, options.repeats(), seconds[repeat], bytes / 1e9 / seconds[repeat]));
        }
        return new ConvertResult(bytes, options.convertDtype(), dimensions, new Samples(seconds), peak, ProcessMemory.maximumHeapBytes());
    }

    /** {@code spikeconv convert --plan PLAN} with the bench's window, quantization and spikes. */
    static ConversionOptions conversionOptions(BenchOptions options, String plan, ModelConfig config) {
        return new ConversionOptions(LayerPlans.parse(plan, options.window(), 0, config), options.quantization(), options.spikes(), false,
                ConversionOptions.DEFAULT_MAX_SHARD_BYTES, true);
    }
}
