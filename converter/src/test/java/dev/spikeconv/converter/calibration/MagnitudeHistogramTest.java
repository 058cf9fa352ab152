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

    /**
     * The bulk add (calibration's path, a vector at a time) against adding value by value: same counts, zeros, total and
     * maximum, for lengths that leave loop tails and values at both ends of the range.
     */
    @Test
    void bulkAddMatchesAddingEachValue() {
        SplittableRandom random = new SplittableRandom(12);
        for (int test = 0; test < 300; test++) {
            // Some calls longer than the chunk the bulk add buckets at a time, most shorter.
            float[] values = new float[test % 10 == 0 ? random.nextInt(16_000, 40_000) : random.nextInt(1, 3000)];
            for (int i = 0; i < values.length; i++) {
                values[i] = switch (random.nextInt(6)) {
                    case 0 -> 0f;
                    case 1 -> -0f;
                    case 2 -> switch (random.nextInt(4)) {
                        case 0 -> Float.POSITIVE_INFINITY;
                        case 1 -> Float.NEGATIVE_INFINITY;
                        case 2 -> -Float.MAX_VALUE;
                        default -> Float.MIN_VALUE;
                    };
                    case 3 -> (float) (random.nextGaussian() * Math.pow(2, random.nextInt(-70, 70)));
                    default -> (float) random.nextGaussian();
                };
            }
            int offset = random.nextInt(values.length);
            int length = random.nextInt(values.length - offset + 1);
            MagnitudeHistogram bulk = new MagnitudeHistogram();
            bulk.add(values, offset, length);
            MagnitudeHistogram single = new MagnitudeHistogram();
            for (int i = offset; i < offset + length; i++) {
                single.add(values[i]);
            }
            assertThat(bulk.toLongs()).as("case %d", test).isEqualTo(single.toLongs());
            assertThat(bulk.zeros()).isEqualTo(single.zeros());
            assertThat(bulk.total()).isEqualTo(single.total());
            assertThat(bulk.maximum()).isEqualTo(single.maximum());
        }
    }
}
