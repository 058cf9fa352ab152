package dev.spikeconv.converter.bench;

import dev.spikeconv.converter.bench.BenchReport.MemoryPeak;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Peak memory of this process over a piece of work: Java heap from the memory pools, resident set
 * from Linux's {@code /proc/self/status} (total, which counts mapped checkpoint pages, and anonymous,
 * which is heap plus native allocations, sampled).
 */
final class ProcessMemory implements AutoCloseable {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFERENCES = Path.of("/proc/self/clear_refs");
    private static final long SAMPLE_MILLIS = 20;

    private final AtomicLong anonymousPeak = new AtomicLong(-1);
    private final Thread sampler;
    private volatile boolean running = true;

    private ProcessMemory() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                pool.resetPeakUsage();
            }
        }
        resetResidentPeak();
        sampler = Thread.ofPlatform().daemon().name("spikeconv-memory-sampler").start(() -> {
            while (running) {
                statusValue("RssAnon:").ifPresent(bytes -> anonymousPeak.accumulateAndGet(bytes, Math::max));
                try {
                    Thread.sleep(SAMPLE_MILLIS);
                }
                catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** Starts watching; {@link #peak()} reports the maxima since. */
    static ProcessMemory watch() {
        return new ProcessMemory();
    }

    MemoryPeak peak() {
        long heap = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                heap += pool.getPeakUsage().getUsed();
            }
        }
        statusValue("RssAnon:").ifPresent(bytes -> anonymousPeak.accumulateAndGet(bytes, Math::max));
        return new MemoryPeak(heap, statusValue("VmHWM:").orElse(-1), anonymousPeak.get());
    }

    static long maximumHeapBytes() {
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public void close() {
        running = false;
        sampler.interrupt();
    }

    /** Writing 5 to clear_refs resets the kernel's peak resident set (VmHWM); without it the peak covers the whole process. */
    private static void resetResidentPeak() {
        try {
            Files.writeString(CLEAR_REFERENCES, "5");
        }
        catch (IOException | UnsupportedOperationException e) {
            // Not Linux, or not permitted: the peak then includes earlier work, which the report states.
        }
    }

    private static OptionalLong statusValue(String key) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(key)) {
                    String[] parts = line.substring(key.length()).trim().split("\\s+");
                    return OptionalLong.of(Long.parseLong(parts[0]) * 1024);
                }
            }
        }
        catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.empty();
    }
}
