package dev.spikeconv.converter.kernels;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@code exp(x)} for each lane of a vector of doubles, from additions, multiplications and bit operations only, so a
 * value has the same bits whether the JIT compiles the call or not ({@code lanewise(EXP)} does not: its compiled form
 * comes from a vector math library, its interpreted one from {@link Math#exp}, and they differ in the last bit).
 * Within 2 ulp of {@link Math#exp}, its oracle; results below {@code e^-708} (subnormal) are 0.
 */
public final class VectorExponential {
    private static final double LOG2_E = 0x1.71547652b82fep0;
    /** ln 2 split so that {@code n · LN2_HIGH} is exact for the |n| ≤ 1100 used here. */
    private static final double LN2_HIGH = 0x1.62e42fee00000p-1;
    private static final double LN2_LOW = 0x1.a39ef35793c76p-33;
    /** Adding then subtracting 1.5 · 2^52 rounds a double below 2^51 in magnitude to an integer, ties to even. */
    private static final double ROUNDING = 0x1.8p52;
    private static final double SMALLEST_ARGUMENT = -708;
    /** ln(Double.MAX_VALUE): above it exp overflows. */
    private static final double LARGEST_ARGUMENT = 709.782712893384;
    /** 1/k! for k = 13 down to 0: Taylor terms of exp(r) for |r| ≤ ln2 / 2, the first left out below 1e-17. */
    private static final double[] TAYLOR = new double[14];

    static {
        double factorial = 1;
        for (int k = 0; k < TAYLOR.length; k++) {
            factorial *= Math.max(1, k);
            TAYLOR[TAYLOR.length - 1 - k] = 1 / factorial;
        }
    }

    private VectorExponential() {}

    /** {@code exp(x) = 2^n · exp(r)} with {@code n = round(x / ln2)}, {@code r = x - n ln2}; NaN stays NaN, -∞ gives 0. */
    public static DoubleVector exp(DoubleVector x) {
        DoubleVector bounded = x.max(SMALLEST_ARGUMENT).min(LARGEST_ARGUMENT);
        DoubleVector shifted = bounded.mul(LOG2_E).add(ROUNDING);
        DoubleVector n = shifted.sub(ROUNDING);
        DoubleVector r = n.neg().fma(x.broadcast(LN2_HIGH), bounded);
        r = n.neg().fma(x.broadcast(LN2_LOW), r);
        DoubleVector polynomial = x.broadcast(TAYLOR[0]);
        for (int k = 1; k < TAYLOR.length; k++) {
            polynomial = polynomial.fma(r, x.broadcast(TAYLOR[k]));
        }
        // The low bits of 1.5 · 2^52 + n hold n. 2^n as 2 · 2^(n-1): n runs from -1021 to 1024, and 2^1024 has no double.
        LongVector exponent = shifted.reinterpretAsLongs().add(1022 - Double.doubleToRawLongBits(ROUNDING)).lanewise(VectorOperators.LSHL, 52);
        DoubleVector result = polynomial.mul(2).mul(exponent.reinterpretAsDoubles());
        return result.blend(0, x.compare(VectorOperators.LT, SMALLEST_ARGUMENT))
                .blend(Double.POSITIVE_INFINITY, x.compare(VectorOperators.GT, LARGEST_ARGUMENT));
    }
}
