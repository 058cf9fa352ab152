package dev.spikeconv.converter.verify;

/**
 * One goal checked: its name (as in the goals file), whether it held, a sentence with the numbers, and for a missed
 * goal what to try next (null when it held or there is no advice).
 */
public record GoalResult(String name, boolean passed, String detail, String nextStep) {
    public GoalResult(String name, boolean passed, String detail) {
        this(name, passed, detail, null);
    }

    GoalResult withNextStep(String step) {
        return new GoalResult(name, passed, detail, step);
    }
}
