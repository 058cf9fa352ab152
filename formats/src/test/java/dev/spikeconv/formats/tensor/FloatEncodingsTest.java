package dev.spikeconv.formats.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FloatEncodingsTest {
    @Test
    void bfloat16RoundsToNearestEven() {
        // 1 + 2^-8 lies exactly between two bfloat16 values: ties go to the even mantissa (1.0).
        assertThat(FloatEncodings.floatToBfloat16(1f + 0x1p-8f)).isEqualTo((short) 0x3F80);
        // 1 + 3 * 2^-8 lies between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up to even.
        assertThat(FloatEncodings.floatToBfloat16(1f + 3 * 0x1p-8f)).isEqualTo((short) 0x3F82);
        assertThat(FloatEncodings.floatToBfloat16(1f + 0x1p-8f + 0x1p-20f)).isEqualTo((short) 0x3F81);
        assertThat(FloatEncodings.bfloat16ToFloat((short) 0xC040)).isEqualTo(-3f);
        assertThat(Float.isNaN(FloatEncodings.bfloat16ToFloat(FloatEncodings.floatToBfloat16(Float.NaN)))).isTrue();
        assertThat(FloatEncodings.bfloat16ToFloat(FloatEncodings.floatToBfloat16(Float.POSITIVE_INFINITY))).isEqualTo(Float.POSITIVE_INFINITY);
    }

    @Test
    void bfloat16RoundTripIsWithinHalfAUnitInTheLastPlace() {
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 100_000; i++) {
            float value = (float) ((random.nextDouble() - 0.5) * Math.pow(2, random.nextInt(-20, 20)));
            float rounded = FloatEncodings.bfloat16ToFloat(FloatEncodings.floatToBfloat16(value));
            float unit = Math.ulp(rounded) * (1 << 16);
            assertThat(Math.abs(rounded - value)).isLessThanOrEqualTo(unit / 2);
        }
    }

    @Test
    void halfPrecision() {
        assertThat(FloatEncodings.halfToFloat((short) 0x3C00)).isEqualTo(1f);
        assertThat(FloatEncodings.halfToFloat((short) 0x7BFF)).isEqualTo(65504f);
        assertThat(FloatEncodings.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(FloatEncodings.floatToHalf(1f / 3)).isEqualTo((short) 0x3555);
    }

    @Test
    void float8Formats() {
        assertThat(FloatEncodings.e4m3ToFloat((byte) 0x7E)).isEqualTo(448f); // largest finite e4m3fn
        assertThat(FloatEncodings.e4m3ToFloat((byte) 0x01)).isEqualTo(0x1p-9f); // smallest subnormal
        assertThat(FloatEncodings.e4m3ToFloat((byte) 0x38)).isEqualTo(1f);
        assertThat(FloatEncodings.e4m3ToFloat((byte) 0xC0)).isEqualTo(-2f);
        assertThat(Float.isNaN(FloatEncodings.e4m3ToFloat((byte) 0x7F))).isTrue();
        assertThat(FloatEncodings.e5m2ToFloat((byte) 0x7B)).isEqualTo(57344f);
        assertThat(FloatEncodings.e5m2ToFloat((byte) 0x7C)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(FloatEncodings.e5m2ToFloat((byte) 0x3C)).isEqualTo(1f);
        assertThat(FloatEncodings.e5m2ToFloat((byte) 0x01)).isEqualTo(0x1p-16f);
    }
}
