package dev.spikeconv.bench;

import dev.spikeconv.bench.SyntheticCheckpoint.Dimensions;
import dev.spikeconv.formats.tensor.DType;
import java.util.List;

/** What {@code spikeconv bench} measured; sections not run are null or empty. */
public record BenchReport(Environment environment, ConvertResult convert, List<PassResult> passes, Dimensions contextModel, int prefillChunk,
        List<ContextResult> context, ScaleResult scale) {
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

    /** The scale section: a generated checkpoint of {@code parameters} through every command, each as its own process. */
    public record ScaleResult(Dimensions model, long parameters, long checkpointBytes, long bundleBytes, int calibrationTokens, List<ScaleStep> steps) {
        public ScaleResult {
            steps = List.copyOf(steps);
        }
    }

    /**
     * One command of the scale section: exit code, wall time, peak Java heap and anonymous resident memory (-1 where
     * unknown), and the operations of one forward pass over its tokens (NaN for convert), in billions.
     */
    public record ScaleStep(String name, int exitCode, double seconds, long peakHeapBytes, long peakAnonymousBytes, double forwardGigaOperations) {
        /** One forward pass's operations over the step's wall time: how close a step of several passes comes to the arithmetic. */
        public double gigaOperationsPerSecond() {
            return forwardGigaOperations / seconds;
        }
    }
}
