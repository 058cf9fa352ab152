package dev.spikeconv.converter.quantization;

/**
 * Symmetric int8 quantization of weight rows (DESIGN §4): per row or per input group of {@code group}
 * values, {@code scale = max|w| / 127}, {@code code = roundHalfEven(w / scale)} clamped to ±127; an
 * all-zero group has scale 0 and codes 0. The last group of a row may be shorter. Float32 throughout,
 * so every implementation that follows these steps gets the same bytes.
 */
public final class Int8Quantizer {
    public static final int MAX_CODE = 127;

    private Int8Quantizer() {}

    /** Number of scale columns for rows of {@code columns} values. */
    public static int groupsPerRow(int columns, int group) {
        return (columns + group - 1) / group;
    }

    /**
     * Quantizes {@code rows} rows of {@code columns} values from {@code weights} into {@code codes} (same layout)
     * and {@code scales} ({@code [rows, groupsPerRow]}).
     */
    public static void quantize(float[] weights, int rows, int columns, int group, byte[] codes, float[] scales) {
        int groups = groupsPerRow(columns, group);
        for (int row = 0; row < rows; row++) {
            for (int index = 0; index < groups; index++) {
                int start = row * columns + index * group;
                int end = row * columns + Math.min(columns, (index + 1) * group);
                float maximum = 0;
                for (int i = start; i < end; i++) {
                    maximum = Math.max(maximum, Math.abs(weights[i]));
                }
                float scale = maximum / MAX_CODE;
                scales[row * groups + index] = scale;
                for (int i = start; i < end; i++) {
                    codes[i] = scale == 0 ? 0 : code(weights[i] / scale);
                }
            }
        }
    }

    /** {@code roundHalfEven(value)} clamped to ±127. */
    public static byte code(float value) {
        float rounded = (float) Math.rint(value);
        return (byte) Math.max(-MAX_CODE, Math.min(MAX_CODE, rounded));
    }
}
