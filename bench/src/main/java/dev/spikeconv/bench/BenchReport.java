package dev.spikeconv.bench;

import dev.spikeconv.bench.SyntheticCheckpoint.Dimensions;
import dev.spikeconv.formats.tensor.DType;
import java.util.List;

/** What {@code spikeconv bench} measured; sections not run are null or empty. */
public record BenchReport(Environment environment, ConvertResult convert, List<PassResult> passes, Dimensions contextModel, int prefillChunk,
        List<ContextResult> context) {
    public BenchReport {
        passes = List.copyOf(passes);
        context = List.copyOf(context);
    }

    /** The machine the numbers come from. */
    public record Environment(String javaVersion, int processors, int onnxRuntimeThreads, long maximumHeapBytes) {}

    /** What a piece of work used at most; -1 where the platform does not tell. */
    public record MemoryPeak(long heapBytes, long residentBytes, long anonymousResidentBytes) {
        MemoryPeak max(MemoryPeak other) {
            return other == null ? this : new MemoryPeak(Math.max(heapBytes, other.heapBytes), Math.max(residentBytes, other.residentBytes),
                    Math.max(anonymousResidentBytes, other.anonymousResidentBytes));
        }
    }

    /** One conversion of a generated checkpoint. */
    public record ConvertResult(long sourceBytes, DType dtype, Dimensions dimensions, Samples seconds, MemoryPeak peak, long maximumHeapBytes) {
        public double gigabytesPerSecond() {
            return sourceBytes / 1e9 / seconds.median();
        }
    }

    /** One pass over {@code tokens}; {@code ratioToForward} is the plain forward time it must include divided by its own time. */
    public record PassResult(String name, int tokens, Samples seconds, double ratioToForward) {
        public double tokensPerSecond() {
            return tokens / seconds.median();
        }
    }

    /** Prefill of {@code context} tokens, then single-token decode steps; {@code cacheBytes} is what the sequence carries forward. */
    public record ContextResult(String model, int context, Samples prefillSeconds, Samples decodeMillis, long cacheBytes) {}
}
