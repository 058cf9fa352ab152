package dev.spikeconv.converter.spiking;

import java.util.Arrays;

/**
 * How one projection site turns its input into spike counts: a dynamic threshold
 * {@code mean|a|/k} per token, or a calibrated static threshold {@code θ = integer · 2^-exponent}
 * for the whole site or per input channel (docs/design.md §4).
 */
public sealed interface SiteThreshold {
    /** The largest integer a static threshold may have: below 2^24, so float32 holds {@code integer · 2^-e} exactly. */
    int MAX_INTEGER = (1 << 24) - 1;

    /** SpikingBrain's per-token threshold with divisor {@code k}. */
    record Dynamic(float k) implements SiteThreshold {
        public Dynamic {
            if (!(k > 0) || !Float.isFinite(k)) {
                throw new IllegalArgumentException("k must be a positive number, found " + k);
            }
        }
    }

    /** {@code θ_c = integers[c] · 2^-exponent}; one integer for the whole site or one per input channel. */
    record Static(int[] integers, int exponent) implements SiteThreshold {
        public Static {
            integers = integers.clone();
            if (integers.length == 0) {
                throw new IllegalArgumentException("a static threshold needs at least one integer");
            }
            for (int integer : integers) {
                if (integer < 1 || integer > MAX_INTEGER) {
                    throw new IllegalArgumentException("threshold integers must be in [1, " + MAX_INTEGER + "], found " + integer);
                }
            }
            float smallest = Math.scalb((float) Arrays.stream(integers).min().orElseThrow(), -exponent);
            float largest = Math.scalb((float) Arrays.stream(integers).max().orElseThrow(), -exponent);
            if (!(smallest >= Float.MIN_NORMAL) || !Float.isFinite(largest)) {
                throw new IllegalArgumentException("threshold exponent " + exponent + " puts thresholds outside float32's normal range");
            }
        }

        @Override
        public int[] integers() {
            return integers.clone();
        }

        public boolean perChannel() {
            return integers.length > 1;
        }

        /** The thresholds as float32, one per integer. */
        public float[] thresholds() {
            float[] thresholds = new float[integers.length];
            for (int i = 0; i < thresholds.length; i++) {
                thresholds[i] = Math.scalb((float) integers[i], -exponent);
            }
            return thresholds;
        }

        /** The nearest representable threshold to {@code value} with integers of at most {@code bits} bits, the exponent as large as they allow. */
        public static Static nearest(double value, int bits) {
            return nearest(new double[] {value}, bits);
        }

        /** One exponent for all channels, chosen so the largest threshold uses the integer range; none rounds below 1. */
        public static Static nearest(double[] values, int bits) {
            if (bits < 1 || bits > 24) {
                throw new IllegalArgumentException("threshold bits must be in [1, 24], found " + bits);
            }
            double largest = Arrays.stream(values).max().orElseThrow();
            if (!(largest > 0) || Double.isInfinite(largest)) {
                throw new IllegalArgumentException("thresholds must be positive and finite, found " + largest);
            }
            long limit = (1L << bits) - 1;
            int exponent = Math.getExponent(limit / largest);
            while (Math.round(Math.scalb(largest, exponent)) > limit) {
                exponent--;
            }
            exponent = Math.max(-100, Math.min(100, exponent));
            int[] integers = new int[values.length];
            for (int i = 0; i < values.length; i++) {
                integers[i] = (int) Math.max(1, Math.min(limit, Math.round(Math.scalb(values[i], exponent))));
            }
            return new Static(integers, exponent);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Static that && exponent == that.exponent && Arrays.equals(integers, that.integers);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(integers) + exponent;
        }

        @Override
        public String toString() {
            return perChannel() ? integers.length + " channel thresholds, 2^-" + exponent : integers[0] + " * 2^-" + exponent;
        }
    }
}
