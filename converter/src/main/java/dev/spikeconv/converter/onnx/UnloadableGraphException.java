package dev.spikeconv.converter.onnx;

import dev.spikeconv.formats.io.InvalidInputException;
import java.nio.file.Path;

/**
 * A graph file that is not an ONNX model, or that ONNX Runtime refuses to load: bad input (exit 65), and for verify a
 * failed structure goal rather than the end of the check.
 */
public final class UnloadableGraphException extends InvalidInputException {
    private static final long serialVersionUID = 1L;

    private final transient Path graphFile;
    private final String reason;

    UnloadableGraphException(Path graphFile, String reason, Throwable cause) {
        super(graphFile + ": " + reason, cause);
        this.graphFile = graphFile;
        this.reason = reason;
    }

    public Path graphFile() {
        return graphFile;
    }

    /** Why the graph cannot be used, without the file name. */
    public String reason() {
        return reason;
    }
}
