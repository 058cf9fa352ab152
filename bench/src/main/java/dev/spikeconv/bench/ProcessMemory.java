package dev.spikeconv.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import com.sun.management.GcInfo;
import dev.spikeconv.bench.BenchReport.MemoryPeak;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import javax.management.ListenerNotFoundException;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * Peak memory of this process over a piece of work: Java heap in use at one moment (the heap only grows between
 * collections, so its peak is what the heap pools held together just before one, or now), resident set from Linux's
 * {@code /proc/self/status} (total, which counts mapped checkpoint pages, and anonymous, which is heap plus native
 * allocations, sampled).
 */
final class ProcessMemory implements AutoCloseable {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFERENCES = Path.of("/proc/self/clear_refs");
    private static final long SAMPLE_MILLIS = 20;

    private final AtomicLong anonymousPeak = new AtomicLong(-1);
    private final AtomicLong heapPeak = new AtomicLong();
    private final Set<String> heapPools = ManagementFactory.getMemoryPoolMXBeans().stream().filter(pool -> pool.getType() == MemoryType.HEAP)
            .map(MemoryPoolMXBean::getName).collect(Collectors.toSet());
    private final List<NotificationEmitter> collectors = new ArrayList<>();
    private final NotificationListener collectionListener = (notification, unused) -> {
        if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(notification.getType())) {
            GcInfo collection = GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData()).getGcInfo();
            long before = 0;
            for (Map.Entry<String, MemoryUsage> pool : collection.getMemoryUsageBeforeGc().entrySet()) {
                if (heapPools.contains(pool.getKey())) {
                    before += pool.getValue().getUsed();
                }
            }
            heapPeak.accumulateAndGet(before, Math::max);
        }
    };
    private final Thread sampler;
    private volatile boolean running = true;

    private ProcessMemory() {
        // Starting from a collected heap, so that garbage of earlier work does not count.
        System.gc();
        heapPeak.set(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (collector instanceof NotificationEmitter emitter) {
                emitter.addNotificationListener(collectionListener, null, null);
                collectors.add(emitter);
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
        long heap = heapPeak.accumulateAndGet(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), Math::max);
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
        for (NotificationEmitter collector : collectors) {
            try {
                collector.removeNotificationListener(collectionListener);
            }
            catch (ListenerNotFoundException e) {
                throw new IllegalStateException("the collection listener was added to " + collector, e);
            }
        }
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
