package dev.spikeconv.converter;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.Locale;

/**
 * The Java heap a long step needs, estimated from the model before it starts, against what the JVM may use: a step
 * that cannot fit is refused at once ({@link InsufficientMemoryException}) instead of failing an hour later.
 */
public final class MemoryBudget {
    /** Share of the maximum heap a step may plan for: the rest is the collector's room and everything small. */
    private static final double USABLE_SHARE = 0.85;

    private MemoryBudget() {}

    /**
     * The heap a step may still plan for: the usable share of the maximum, less what the last collection left live
     * (garbage not yet collected is not in the way; before any collection, everything in use counts).
     */
    public static long available() {
        long live = 0;
        boolean collected = false;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            MemoryUsage afterCollection = pool.getType() == MemoryType.HEAP ? pool.getCollectionUsage() : null;
            if (afterCollection != null && afterCollection.getUsed() > 0) {
                live += afterCollection.getUsed();
                collected = true;
            }
        }
        Runtime runtime = Runtime.getRuntime();
        long used = collected ? live : runtime.totalMemory() - runtime.freeMemory();
        return (long) (runtime.maxMemory() * USABLE_SHARE) - used;
    }

    /** Refuses {@code step} when it needs more than {@link #available()}; {@code option} is the setting that makes it smaller. */
    public static void require(String step, long neededBytes, String option) {
        long available = available();
        if (neededBytes > available) {
            // What the last collection left may have died since (an earlier step's data): look again before refusing.
            System.gc();
            available = available();
        }
        if (neededBytes > available) {
            throw new InsufficientMemoryException(step, neededBytes, Runtime.getRuntime().maxMemory(), option);
        }
    }

    public static String gibibytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    /** A step whose estimated heap does not fit the JVM's (exit 70). */
    public static final class InsufficientMemoryException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String step;
        private final long neededBytes;
        private final long maximumHeap;
        private final String option;

        InsufficientMemoryException(String step, long neededBytes, long maximumHeap, String option) {
            super(step + " needs about " + gibibytes(neededBytes) + " of Java heap, more than the " + gibibytes(maximumHeap) + " heap allows");
            this.step = step;
            this.neededBytes = neededBytes;
            this.maximumHeap = maximumHeap;
            this.option = option;
        }

        public String step() {
            return step;
        }

        public long neededBytes() {
            return neededBytes;
        }

        public long maximumHeap() {
            return maximumHeap;
        }

        /** The engine's name of the setting that makes the step smaller (the CLI maps it to its flag). */
        public String option() {
            return option;
        }
    }
}
