package dev.spikeconv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ProcessMemoryTest {
    private static final int HELD_BYTES = 64 << 20;
    /** What may have died between the first reading and the collection (a collection the big allocation itself starts). */
    private static final int SLACK_BYTES = 4 << 20;

    /**
     * The heap peak is what was in use at one moment, seen just before a collection: an array dropped before the
     * collection still counts on top of what was in use when watching began, and the peak never exceeds what the heap
     * can hold (adding each pool's own peak, taken at different moments, could).
     */
    @Test
    void heapPeakIsUseAtOneMomentBeforeACollection() throws InterruptedException {
        try (ProcessMemory memory = ProcessMemory.watch()) {
            long atStart = memory.peak().heapBytes();
            byte[] held = new byte[HELD_BYTES];
            held[HELD_BYTES - 1] = 1;
            assertThat(held[HELD_BYTES - 1]).isEqualTo((byte) 1);
            held = null;
            System.gc();
            // Collection notifications arrive on another thread; wait for this one, briefly: each reading allocates a
            // little, and a long wait would fill the heap with enough garbage to pass without any notification.
            long expected = atStart + HELD_BYTES - SLACK_BYTES;
            for (int wait = 0; wait < 40 && memory.peak().heapBytes() < expected; wait++) {
                Thread.sleep(50);
            }
            assertThat(memory.peak().heapBytes()).isGreaterThanOrEqualTo(expected).isLessThanOrEqualTo(ProcessMemory.maximumHeapBytes());
        }
    }
}
