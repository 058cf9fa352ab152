package dev.spikeconv.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Option values that are sizes or int8 groups, converted where picocli parses them. */
final class Sizes {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?", Pattern.CASE_INSENSITIVE);

    private Sizes() {}

    /** "5GB" (decimal) or "512MiB" (binary) as bytes. */
    static final class ByteSize implements ITypeConverter<Long> {
        @Override
        public Long convert(String text) {
            Matcher matcher = SIZE.matcher(text.strip());
            if (!matcher.matches()) {
                throw new TypeConversionException("expected a size such as 500MB or 2GiB, found '" + text + "'");
            }
            String unit = matcher.group(2) == null ? "B" : matcher.group(2).toUpperCase(Locale.ROOT);
            long multiplier = switch (unit) {
                case "KB" -> 1_000L;
                case "MB" -> 1_000_000L;
                case "GB" -> 1_000_000_000L;
                case "TB" -> 1_000_000_000_000L;
                case "KIB" -> 1L << 10;
                case "MIB" -> 1L << 20;
                case "GIB" -> 1L << 30;
                case "TIB" -> 1L << 40;
                default -> 1;
            };
            try {
                return Math.multiplyExact(Long.parseLong(matcher.group(1)), multiplier);
            }
            catch (ArithmeticException | NumberFormatException e) {
                throw new TypeConversionException("the size '" + text + "' is too large");
            }
        }
    }

    /** Inputs per int8 scale: a positive number, or {@code row} (one scale per output row, stored as 0). */
    static final class Group implements ITypeConverter<Integer>, Iterable<String> {
        @Override
        public Integer convert(String text) {
            if (text.equals("row")) {
                return 0;
            }
            try {
                int value = Integer.parseInt(text);
                if (value > 0) {
                    return value;
                }
            }
            catch (NumberFormatException e) {
                // refused below
            }
            throw new TypeConversionException("expected a positive number of inputs or row, found '" + text + "'");
        }

        @Override
        public java.util.Iterator<String> iterator() {
            return java.util.List.of("128", "64", "32", "row").iterator();
        }
    }
}
