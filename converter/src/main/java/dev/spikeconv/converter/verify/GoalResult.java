package dev.spikeconv.converter.verify;

/** One goal checked: its name (as in the goals file), whether it held, and a sentence with the numbers. */
public record GoalResult(String name, boolean passed, String detail) {}
