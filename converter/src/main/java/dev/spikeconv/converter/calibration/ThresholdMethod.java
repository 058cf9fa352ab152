package dev.spikeconv.converter.calibration;

import dev.spikeconv.converter.InvalidOptionException;
import java.util.Locale;

/**
 * How calibrate chooses a site's threshold: {@code dynamic} keeps SpikingBrain's per-token threshold
 * and calibrates its divisor k; the static methods fix θ from the site's |a| distribution: {@code max}
 * ({@code max/T}, nothing clipped), {@code percentile:P} (the P-th percentile maps to T) and {@code mse}
 * (the θ minimising the squared error of the clamped, rounded counts); {@code keep} leaves the bundle's
 * thresholds as they are (attention transfer only).
 */
public record ThresholdMethod(Kind kind, double percentile) {
    public enum Kind {
        KEEP,
        DYNAMIC,
        MAX,
        PERCENTILE,
        MSE;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public ThresholdMethod {
        if (kind == Kind.PERCENTILE && !(percentile > 0 && percentile <= 100)) {
            throw new InvalidOptionException("method", "the percentile must be in (0, 100], found " + percentile);
        }
    }

    /** {@code dynamic}, {@code max}, {@code mse} or {@code percentile:P}. */
    public static ThresholdMethod parse(String text) {
        String lower = text.strip().toLowerCase(Locale.ROOT);
        if (lower.startsWith("percentile:")) {
            try {
                return new ThresholdMethod(Kind.PERCENTILE, Double.parseDouble(lower.substring("percentile:".length())));
            }
            catch (NumberFormatException e) {
                throw new InvalidOptionException("method", "percentile:P needs a number P, found '" + text + "'");
            }
        }
        return switch (lower) {
            case "keep" -> new ThresholdMethod(Kind.KEEP, 0);
            case "dynamic" -> new ThresholdMethod(Kind.DYNAMIC, 0);
            case "max" -> new ThresholdMethod(Kind.MAX, 0);
            case "mse" -> new ThresholdMethod(Kind.MSE, 0);
            default -> throw new InvalidOptionException("method", "unknown threshold method '" + text + "': use mse, max, percentile:P, dynamic or keep");
        };
    }

    public boolean isStatic() {
        return switch (kind) {
            case MAX, PERCENTILE, MSE -> true;
            case KEEP, DYNAMIC -> false;
        };
    }

    /** Whether calibration chooses thresholds at all. */
    public boolean choosesThresholds() {
        return kind != Kind.KEEP;
    }

    public String id() {
        return kind == Kind.PERCENTILE ? "percentile:" + formatted(percentile) : kind.id();
    }

    private static String formatted(double value) {
        return value == Math.rint(value) ? String.valueOf((long) value) : String.valueOf(value);
    }
}
