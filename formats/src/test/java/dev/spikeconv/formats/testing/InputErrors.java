package dev.spikeconv.formats.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.spikeconv.formats.io.InvalidInputException;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Assertions that bad input is refused the way users see it: one line naming the problem. */
public final class InputErrors {
    private InputErrors() {}

    /** {@code action} throws an {@link InvalidInputException} whose single-line message contains every fragment. */
    public static InvalidInputException assertInvalid(ThrowingCallable action, String... fragments) {
        Throwable thrown = catchThrowable(action);
        assertThat(thrown).isInstanceOf(InvalidInputException.class);
        String message = thrown.getMessage();
        assertThat(message).doesNotContain("\n");
        for (String fragment : fragments) {
            assertThat(message).contains(fragment);
        }
        return (InvalidInputException) thrown;
    }

    /** {@code action} either succeeds or throws an {@link InvalidInputException}; anything else is a bug. */
    public static void assertLoadsOrRefuses(ThrowingCallable action, String what) {
        Throwable thrown = catchThrowable(action);
        if (thrown != null && !(thrown instanceof InvalidInputException)) {
            throw new AssertionError(what + ": expected success or InvalidInputException, got " + thrown, thrown);
        }
    }
}
