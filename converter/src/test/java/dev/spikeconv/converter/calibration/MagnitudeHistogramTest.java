package dev.spikeconv.converter.calibration;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MagnitudeHistogramTest {
    /** The bit-level float bucket is the fast path of the double formula (its oracle): same bucket for every float. */
    @Test
    void floatBucketsMatchTheDoubleFormula() {
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < 2_000_000; i++) {
            float value = switch (i % 3) {
                case 0 -> Float.intBitsToFloat(random.nextInt());
                case 1 -> (float) (random.nextGaussian() * Math.pow(2, random.nextInt(-60, 60)));
                default -> (float) random.nextDouble(-4, 4);
            };
            if (Float.isNaN(value)) {
                continue;
            }
            assertThat(MagnitudeHistogram.bucket(value)).as("bucket of %s", value).isEqualTo(MagnitudeHistogram.bucket(Math.abs((double) value)));
        }
        for (float edge : new float[] {Float.MIN_VALUE, Float.MIN_NORMAL, 0x1p-40f, 0x1.fffffep-41f, 0x1p40f, 0x1.fffffep39f, Float.MAX_VALUE,
                Float.POSITIVE_INFINITY, -1f, 1f, 1.015625f, 1.0156249f, -0f}) {
            assertThat(MagnitudeHistogram.bucket(edge)).as("bucket of %s", edge).isEqualTo(MagnitudeHistogram.bucket(Math.abs((double) edge)));
        }
    }
}
