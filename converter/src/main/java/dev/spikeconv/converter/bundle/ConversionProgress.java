package dev.spikeconv.converter.bundle;

/** What a conversion reports as it goes; the CLI draws it on a terminal. */
public interface ConversionProgress {
    ConversionProgress NONE = new ConversionProgress() {
        @Override
        public void stage(String description) {
        }

        @Override
        public void tensor(String name, long bytesDone, long bytesTotal) {
        }

        @Override
        public void warning(String message) {
        }
    };

    /** A new phase begins (e.g. "writing model.safetensors"). */
    void stage(String description);

    /** {@code bytesDone} of {@code bytesTotal} source bytes processed; {@code name} is being written. */
    void tensor(String name, long bytesDone, long bytesTotal);

    /** Something the user should know that does not stop the conversion. */
    void warning(String message);
}
