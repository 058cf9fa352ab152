package dev.spikeconv.converter;

/**
 * A setting the user chose that cannot work (exit 2): {@code option} is the engine's name for the setting (the same word
 * as the command-line option that sets it, which the command line maps to the flag), {@code problem} says what is wrong.
 */
public final class InvalidOptionException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String option;
    private final String problem;

    public InvalidOptionException(String option, String problem) {
        super(option + ": " + problem);
        this.option = option;
        this.problem = problem;
    }

    public String option() {
        return option;
    }

    public String problem() {
        return problem;
    }
}
