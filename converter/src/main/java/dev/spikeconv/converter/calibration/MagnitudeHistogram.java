package dev.spikeconv.converter.calibration;

import dev.spikeconv.formats.model.SpikeSettings;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A histogram of |a| in bounded memory: 64 linear buckets per power of two from 2^-40 to 2^40 (each
 * at most 1.6% wide), one bucket for exact zeros, values below 2^-40 with the zeros' neighbours and
 * values above 2^40 in the last bucket; the exact maximum is kept. Expectations over the data treat
 * values as spread evenly within their bucket, which lets threshold searches evaluate the rounding
 * error and spike counts of any threshold without the data.
 */
public final class MagnitudeHistogram {
    static final int MINIMUM_EXPONENT = -40;
    static final int MAXIMUM_EXPONENT = 40;
    static final int BUCKETS_PER_OCTAVE = 64;
    static final int BUCKETS = (MAXIMUM_EXPONENT - MINIMUM_EXPONENT) * BUCKETS_PER_OCTAVE;
    /** {@code bits >>> 17} of the smallest value of the first octave, 2^MINIMUM_EXPONENT. */
    private static final int FIRST_OCTAVE_OFFSET = (127 + MINIMUM_EXPONENT) * BUCKETS_PER_OCTAVE;
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTEGERS = FLOATS.vectorShape().withLanes(int.class);

    /** Values bucketed at a time by {@link #add(float[], int, int)}: its scratch stays small whatever the call's length. */
    private static final int CHUNK = 1 << 14;
    /**
     * The bucket of each value of one chunk, one array per thread. A 7B calibration holds two histograms for each of its
     * 224 sites: a scratch per histogram as long as its largest call ({@code [512, 11008]} for a down_proj) once grew
     * its live heap by 50 MB a layer.
     */
    private static final ThreadLocal<int[]> SCRATCH = ThreadLocal.withInitial(() -> new int[CHUNK]);

    private final long[] counts = new long[BUCKETS];
    private long zeros;
    private long total;
    private double maximum;

    /** What a threshold does to the data, per value: mean spike events, mean squared error, mean squared value. */
    public record CodeStatistics(double meanEvents, double meanSquaredError, double meanSquare, double saturatedShare) {
        /** Share of the coding window's slots without a spike. */
        public double sparsity(int window) {
            return 1 - meanEvents / window;
        }

        /** {@code Σ(a - θs)² / Σa²}. */
        public double relativeError() {
            return meanSquare == 0 ? 0 : meanSquaredError / meanSquare;
        }
    }

    public void add(float value) {
        double magnitude = Math.abs(value);
        total++;
        if (magnitude == 0) {
            zeros++;
            return;
        }
        maximum = Math.max(maximum, magnitude);
        counts[bucket(value)]++;
    }

    /**
     * The same as {@link #add(float)} for each value: calibration feeds millions per sequence. Buckets, zeros and the
     * maximum are found a vector at a time from the floats' bits, then counted; {@link #add(float)} is its oracle.
     */
    public void add(float[] values, int offset, int length) {
        int[] buckets = SCRATCH.get();
        for (int start = 0; start < length; start += CHUNK) {
            addChunk(values, offset + start, Math.min(CHUNK, length - start), buckets);
        }
    }

    private void addChunk(float[] values, int offset, int length, int[] buckets) {
        IntVector largest = IntVector.zero(INTEGERS);
        long zeroCount = 0;
        int i = 0;
        int upperBound = INTEGERS.loopBound(length);
        for (; i < upperBound; i += INTEGERS.length()) {
            // |a| as bits orders as |a| does (a NaN above everything, as Math.max keeps it).
            IntVector bits = FloatVector.fromArray(FLOATS, values, offset + i).reinterpretAsInts().and(0x7fffffff);
            largest = largest.max(bits);
            zeroCount += bits.compare(VectorOperators.EQ, 0).trueCount();
            bits.lanewise(VectorOperators.LSHR, 17).sub(FIRST_OCTAVE_OFFSET).max(0).min(BUCKETS - 1).intoArray(buckets, i);
        }
        int largestBits = largest.reduceLanes(VectorOperators.MAX);
        for (; i < length; i++) {
            int bits = Float.floatToRawIntBits(values[offset + i]) & 0x7fffffff;
            largestBits = Math.max(largestBits, bits);
            zeroCount += bits == 0 ? 1 : 0;
            buckets[i] = bucketOfMagnitudeBits(bits);
        }
        // A zero lands in bucket 0 too and is taken out again below: no branch in the loop.
        for (int j = 0; j < length; j++) {
            counts[buckets[j]]++;
        }
        counts[0] -= zeroCount;
        zeros += zeroCount;
        total += length;
        maximum = Math.max(maximum, Float.intBitsToFloat(largestBits));
    }

    /** Adds another histogram's counts (the statistics of a further run). */
    public void merge(MagnitudeHistogram other) {
        for (int i = 0; i < BUCKETS; i++) {
            counts[i] += other.counts[i];
        }
        zeros += other.zeros;
        total += other.total;
        maximum = Math.max(maximum, other.maximum);
    }

    /**
     * {@link #bucket(double)} of |value| from the float's bits: the 64 buckets of an octave are the top six bits of its
     * 23-bit fraction. Calibration calls this for every activation, so it avoids the division and the double maths.
     */
    static int bucket(float value) {
        return bucketOfMagnitudeBits(Float.floatToRawIntBits(value) & 0x7fffffff);
    }

    /**
     * Biased exponent and top six fraction bits are {@code bits >>> 17}: octave times 64 plus the bucket within it, so
     * the bucket is that minus the first octave's offset, clamped (tiny values to the first, huge ones to the last).
     */
    private static int bucketOfMagnitudeBits(int bits) {
        int bucket = (bits >>> 17) - FIRST_OCTAVE_OFFSET;
        return Math.max(0, Math.min(BUCKETS - 1, bucket));
    }

    static int bucket(double magnitude) {
        int exponent = Math.getExponent(magnitude);
        if (exponent < MINIMUM_EXPONENT) {
            return 0;
        }
        if (exponent >= MAXIMUM_EXPONENT) {
            return BUCKETS - 1;
        }
        double mantissa = magnitude / Math.scalb(1.0, exponent);
        int sub = Math.min(BUCKETS_PER_OCTAVE - 1, (int) ((mantissa - 1) * BUCKETS_PER_OCTAVE));
        return (exponent - MINIMUM_EXPONENT) * BUCKETS_PER_OCTAVE + sub;
    }

    double lowerBound(int bucket) {
        if (bucket == 0) {
            return 0;
        }
        int exponent = bucket / BUCKETS_PER_OCTAVE + MINIMUM_EXPONENT;
        int sub = bucket % BUCKETS_PER_OCTAVE;
        return Math.scalb(1 + (double) sub / BUCKETS_PER_OCTAVE, exponent);
    }

    double upperBound(int bucket) {
        double bound = bucket == BUCKETS - 1 ? Double.POSITIVE_INFINITY : lowerBound(bucket + 1);
        // The top occupied bucket ends at the true maximum.
        return Math.min(bound, Math.max(maximum, lowerBound(bucket)));
    }

    public long total() {
        return total;
    }

    public long zeros() {
        return zeros;
    }

    public double maximum() {
        return maximum;
    }

    /** The {@code p} quantile of |a|, interpolated within its bucket. */
    public double quantile(double p) {
        if (total == 0) {
            return 0;
        }
        double rank = p * total;
        if (rank <= zeros) {
            return 0;
        }
        double seen = zeros;
        for (int i = 0; i < BUCKETS; i++) {
            if (counts[i] == 0) {
                continue;
            }
            if (seen + counts[i] >= rank) {
                double low = lowerBound(i);
                double high = upperBound(i);
                return low + (high - low) * (rank - seen) / counts[i];
            }
            seen += counts[i];
        }
        return maximum;
    }

    /** Mean of |a|. */
    public double mean() {
        double sum = 0;
        for (int i = 0; i < BUCKETS; i++) {
            if (counts[i] != 0) {
                sum += counts[i] * (lowerBound(i) + upperBound(i)) / 2;
            }
        }
        return total == 0 ? 0 : sum / total;
    }

    /**
     * Spike events, squared error and saturation of {@code s = min(round(|a|/θ), T)} over the data, values
     * uniform within each bucket. Events count |s| for unit codings and popcount(|s|) for bitwise.
     */
    public CodeStatistics codeStatistics(double threshold, int timeSteps, SpikeSettings.Coding coding) {
        if (total == 0) {
            return new CodeStatistics(0, 0, 0, 0);
        }
        double events = 0;
        double squaredError = 0;
        double square = 0;
        double saturated = 0;
        for (int i = 0; i < BUCKETS; i++) {
            if (counts[i] == 0) {
                continue;
            }
            double low = lowerBound(i);
            double high = upperBound(i);
            double width = high - low;
            if (width <= 0) {
                // A bucket that holds only the maximum: a point mass.
                int count = (int) Math.min(timeSteps, Math.rint(low / threshold));
                double error = low - threshold * count;
                events += counts[i] * events(count, coding);
                squaredError += counts[i] * error * error;
                square += counts[i] * low * low;
                saturated += count == timeSteps ? counts[i] : 0;
                continue;
            }
            double bucketEvents = 0;
            double bucketError = 0;
            double bucketSaturated = 0;
            // Pieces of constant count: s = c on [θ(c - 1/2), θ(c + 1/2)), s = T above θ(T - 1/2).
            int first = (int) Math.min(timeSteps, Math.rint(low / threshold));
            int last = (int) Math.min(timeSteps, Math.rint(high / threshold));
            for (int count = first; count <= last; count++) {
                double pieceLow = count == 0 ? low : Math.max(low, threshold * (count - 0.5));
                double pieceHigh = count == timeSteps ? high : Math.min(high, threshold * (count + 0.5));
                if (pieceHigh <= pieceLow) {
                    continue;
                }
                double share = (pieceHigh - pieceLow) / width;
                double centre = threshold * count;
                bucketEvents += share * events(count, coding);
                bucketError += (cube(pieceHigh - centre) - cube(pieceLow - centre)) / 3 / width;
                if (count == timeSteps) {
                    bucketSaturated += share;
                }
            }
            events += counts[i] * bucketEvents;
            squaredError += counts[i] * bucketError;
            square += counts[i] * (cube(high) - cube(low)) / 3 / width;
            saturated += counts[i] * bucketSaturated;
        }
        return new CodeStatistics(events / total, squaredError / total, square / total, saturated / total);
    }

    private static double events(int count, SpikeSettings.Coding coding) {
        return switch (coding) {
            case BINARY, TERNARY -> count;
            case BITWISE -> Integer.bitCount(count);
        };
    }

    private static double cube(double value) {
        return value * value * value;
    }

    /** The counts for saving: zeros, total, maximum bits, then every bucket. */
    long[] toLongs() {
        long[] values = new long[BUCKETS + 3];
        values[0] = zeros;
        values[1] = total;
        values[2] = Double.doubleToRawLongBits(maximum);
        System.arraycopy(counts, 0, values, 3, BUCKETS);
        return values;
    }

    static MagnitudeHistogram fromLongs(long[] values) {
        if (values.length != BUCKETS + 3) {
            throw new IllegalArgumentException("a histogram has " + (BUCKETS + 3) + " values, found " + values.length);
        }
        MagnitudeHistogram histogram = new MagnitudeHistogram();
        histogram.zeros = values[0];
        histogram.total = values[1];
        histogram.maximum = Double.longBitsToDouble(values[2]);
        System.arraycopy(values, 3, histogram.counts, 0, BUCKETS);
        long sum = histogram.zeros + Arrays.stream(histogram.counts).sum();
        if (sum != histogram.total || histogram.zeros < 0 || !(histogram.maximum >= 0) || Double.isInfinite(histogram.maximum)
                || Arrays.stream(histogram.counts).anyMatch(count -> count < 0)) {
            throw new IllegalArgumentException("inconsistent histogram counts");
        }
        return histogram;
    }
}
