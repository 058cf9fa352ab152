package dev.spikeconv.formats.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The BPE merge loop shared by both tokenizer families: adjacent symbols are merged best pair first
 * (lowest priority value, leftmost on ties) until no pair can merge. Symbols live in a linked list and
 * candidate pairs in a priority queue; a queued pair whose sides changed since is skipped. This is
 * O(n log n), so a whole document can be one word.
 */
final class PairMerger {
    /** How good merging {@code left} and {@code right} is: lower is better; NaN means it cannot merge. */
    @FunctionalInterface
    interface Priority {
        double of(String left, String right);
    }

    private record Candidate(int left, int right, double priority, String leftSymbol, String rightSymbol) {}

    private PairMerger() {}

    static List<String> merge(List<String> initial, Priority priority) {
        int count = initial.size();
        String[] symbols = initial.toArray(String[]::new);
        int[] previous = new int[count];
        int[] next = new int[count];
        for (int i = 0; i < count; i++) {
            previous[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>(
                Comparator.comparingDouble(Candidate::priority).thenComparingInt(Candidate::left));
        for (int i = 0; i + 1 < count; i++) {
            offer(queue, symbols, i, i + 1, priority);
        }
        while (!queue.isEmpty()) {
            Candidate candidate = queue.poll();
            int left = candidate.left();
            int right = candidate.right();
            if (symbols[left] == null || symbols[right] == null || next[left] != right
                    || !symbols[left].equals(candidate.leftSymbol()) || !symbols[right].equals(candidate.rightSymbol())) {
                continue;
            }
            symbols[left] = symbols[left] + symbols[right];
            symbols[right] = null;
            next[left] = next[right];
            if (next[right] >= 0) {
                previous[next[right]] = left;
            }
            if (previous[left] >= 0) {
                offer(queue, symbols, previous[left], left, priority);
            }
            if (next[left] >= 0) {
                offer(queue, symbols, left, next[left], priority);
            }
        }
        List<String> merged = new ArrayList<>();
        for (String symbol : symbols) {
            if (symbol != null) {
                merged.add(symbol);
            }
        }
        return merged;
    }

    private static void offer(PriorityQueue<Candidate> queue, String[] symbols, int left, int right, Priority priority) {
        double value = priority.of(symbols[left], symbols[right]);
        if (!Double.isNaN(value)) {
            queue.add(new Candidate(left, right, value, symbols[left], symbols[right]));
        }
    }
}
