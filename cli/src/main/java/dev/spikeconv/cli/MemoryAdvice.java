package dev.spikeconv.cli;

import dev.spikeconv.converter.MemoryBudget;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/** What to tell a user whose command ran out of memory: which memory, how much there was, and what gives more. */
final class MemoryAdvice {
    private MemoryAdvice() {}

    static String outOfMemory(OutOfMemoryError error) {
        long heap = Runtime.getRuntime().maxMemory();
        String what = error.getMessage() == null ? "memory" : error.getMessage();
        return String.format(Locale.ROOT, "out of memory (%s) with a Java heap of %s on a machine of %s: give the JVM more with "
                + "SPIKECONV_JAVA_OPTS=-Xmx<size> (bin/spikeconv gives it half of the machine's memory by default), or run a smaller step", what, gibibytes(heap),
                gibibytes(physicalMemory()));
    }

    static String tooLarge(MemoryBudget.InsufficientMemoryException memory, String flag) {
        return String.format(Locale.ROOT, "%s needs about %s of Java heap and the JVM may use %s (machine: %s): give it more with "
                + "SPIKECONV_JAVA_OPTS=-Xmx<size>, or lower %s", memory.step(), gibibytes(memory.neededBytes()), gibibytes(memory.maximumHeap()),
                gibibytes(physicalMemory()), flag);
    }

    private static long physicalMemory() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean system ? system.getTotalMemorySize() : -1;
    }

    private static String gibibytes(long bytes) {
        return bytes < 0 ? "unknown size" : String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }
}
