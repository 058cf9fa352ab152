package dev.spikeconv.converter.quantization;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class QuantizationErrorTest {
    private static final SplittableRandom SEEDS = new SplittableRandom(11);

    /**
     * Vector and scalar sums of random tensors (odd widths, short last groups, all-zero groups): every term is the same
     * float; only the order of addition differs (float lanes within a group of at most 300), so they agree to a few
     * hundred float roundings of the sum.
     */
    @RepeatedTest(40)
    void vectorSumsMatchTheDefinition() {
        QuantizedSample sample = QuantizedSample.draw(SEEDS.split(), 0.1);
        QuantizationError.Sums vector = QuantizationError.sums(sample.weights(), sample.codes(), sample.scales(), sample.rows(), sample.columns(), sample.group());
        QuantizationError.Sums scalar = QuantizationError.sumsScalar(sample.weights(), sample.codes(), sample.scales(), sample.rows(), sample.columns(),
                sample.group());
        assertThat(vector.squaredNorm()).isCloseTo(scalar.squaredNorm(), within(scalar.squaredNorm() * 300 * 0x1p-24));
        assertThat(vector.squaredError()).isCloseTo(scalar.squaredError(), within(scalar.squaredError() * 300 * 0x1p-24));
        // Each weight is at most half a scale step (plus roundings) from its code's value.
        double bound = 0;
        for (int i = 0; i < sample.weights().length; i++) {
            double step = sample.scales()[(i / sample.columns()) * sample.groups() + (i % sample.columns()) / sample.group()];
            bound += Math.pow(step / 2 * (1 + 0x1p-20), 2);
        }
        assertThat(scalar.squaredError()).isLessThanOrEqualTo(bound);
    }

    @Test
    void weightsOnTheGridHaveNoErrorAndTheRatioIsTheDefinition() {
        // Multiples of 1/127 of the group maximum are exactly what the codes decode to: no error at all.
        float[] weights = new float[2 * 40];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (i % 2 == 0 ? 1 : -1) * (i % 128) * 0.25f;
        }
        weights[39] = 127 * 0.25f;
        weights[79] = 127 * 0.25f;
        byte[] codes = new byte[weights.length];
        float[] scales = new float[2];
        Int8Quantizer.quantize(weights, 2, 40, 40, codes, scales);
        assertThat(scales).containsExactly(0.25f, 0.25f);
        assertThat(QuantizationError.sums(weights, codes, scales, 2, 40, 40).squaredError()).isZero();
        assertThat(QuantizationError.sumsScalar(weights, codes, scales, 2, 40, 40).relative()).isZero();
        // One weight half a step off: error (step/2)^2 over the sum of squares.
        float[] off = {127, 0.5f};
        byte[] offCodes = new byte[2];
        float[] offScales = new float[1];
        Int8Quantizer.quantize(off, 1, 2, 2, offCodes, offScales);
        assertThat(offCodes).containsExactly((byte) 127, (byte) 0);
        assertThat(QuantizationError.sums(off, offCodes, offScales, 1, 2, 2).relative()).isEqualTo(Math.sqrt(0.25 / (127.0 * 127 + 0.25)));
        assertThat(new QuantizationError.Sums(0, 0).relative()).isZero();
    }
}
