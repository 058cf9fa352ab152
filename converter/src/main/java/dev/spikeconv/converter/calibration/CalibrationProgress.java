package dev.spikeconv.converter.calibration;

import dev.spikeconv.converter.bundle.ConversionProgress;

/** What calibration reports as it goes: its stages, steps through the data, and the bundle writes. */
public interface CalibrationProgress extends ConversionProgress {
    CalibrationProgress NONE = new CalibrationProgress() {
        @Override
        public void stage(String description) {
        }

        @Override
        public void tensor(String name, long bytesDone, long bytesTotal) {
        }

        @Override
        public void warning(String message) {
        }

        @Override
        public void step(String phase, int done, int total) {
        }
    };

    /** {@code done} of {@code total} steps of {@code phase} finished. */
    void step(String phase, int done, int total);
}
