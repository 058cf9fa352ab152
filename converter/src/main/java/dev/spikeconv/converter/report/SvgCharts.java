package dev.spikeconv.converter.report;

import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/** Small SVG charts written directly: grouped bars per label, a line over positions with its running mean, and points on two axes. */
public final class SvgCharts {
    private static final int WIDTH = 720;
    private static final int HEIGHT = 260;
    private static final int LEFT = 56;
    private static final int RIGHT = 16;
    private static final int TOP = 28;
    private static final int BOTTOM = 36;

    /** One series of a bar chart. */
    public record Series(String name, double[] values, String color) {}

    /** A point of a scatter chart, with the text its tooltip shows. */
    public record Point(double x, double y, String label) {}

    private SvgCharts() {}

    public static String bars(String id, String title, List<String> labels, List<Series> series, double maximum) {
        return bars(id, title, labels, series, 0, maximum);
    }

    /** Bars on an axis from {@code minimum} to {@code maximum}: values that differ in their third digit stay apart. */
    public static String bars(String id, String title, List<String> labels, List<Series> series, double minimum, double maximum) {
        StringBuilder svg = start(id, title);
        double top = maximum > minimum ? maximum : minimum + 1;
        double bottom = minimum;
        axis(svg, bottom, top);
        int plotWidth = WIDTH - LEFT - RIGHT;
        double slot = (double) plotWidth / Math.max(1, labels.size());
        double barWidth = slot * 0.8 / Math.max(1, series.size());
        for (int i = 0; i < labels.size(); i++) {
            for (int s = 0; s < series.size(); s++) {
                double value = Math.max(bottom, Math.min(top, series.get(s).values()[i]));
                double height = (value - bottom) / (top - bottom) * (HEIGHT - TOP - BOTTOM);
                double x = LEFT + i * slot + slot * 0.1 + s * barWidth;
                svg.append(String.format(Locale.ROOT, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s %s: %.4f</title></rect>%n",
                        x, HEIGHT - BOTTOM - height, barWidth, height, series.get(s).color(), escape(series.get(s).name()),
                        escape(labels.get(i)), series.get(s).values()[i]));
            }
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%s</text>%n", LEFT + i * slot + slot / 2,
                    HEIGHT - BOTTOM + 14, escape(labels.get(i))));
        }
        for (int s = 0; s < series.size(); s++) {
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>%n",
                    LEFT + s * 160, HEIGHT - 12, series.get(s).color(), LEFT + 14 + s * 160, HEIGHT - 3, escape(series.get(s).name())));
        }
        return svg.append("</svg>\n").toString();
    }

    /**
     * {@code values} over positions, faint, with their running mean over {@code window} positions drawn over them: a
     * trace of thousands of spiky points says little by itself. The axis ends at the values' 99th percentile.
     */
    public static String line(String id, String title, double[] values, int window) {
        StringBuilder svg = start(id, title);
        // The axis ends at the 99th percentile: a few spikes would otherwise flatten everything else (they are clipped).
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        double top = sorted.length == 0 ? 1 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(0.99 * sorted.length) - 1)];
        top = top > 0 ? top : 1;
        axis(svg, 0, top);
        svg.append(polyline("series", values, top, "#9ecae1", 1));
        svg.append(polyline("running-mean", runningMean(values, window), top, "#08519c", 2));
        svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"#08519c\"/><text x=\"%d\" y=\"%d\" font-size=\"11\">"
                + "mean of %d positions</text>%n", WIDTH - RIGHT - 150, TOP - 14, WIDTH - RIGHT - 136, TOP - 5, window));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">position 0</text><text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">%d</text>%n",
                LEFT, HEIGHT - BOTTOM + 14, WIDTH - RIGHT, HEIGHT - BOTTOM + 14, values.length - 1));
        return svg.append("</svg>\n").toString();
    }

    /**
     * Points on an x axis of {@code xUnit} and a y axis from 0: {@code tried} faint, {@code chosen} joined in order, as a
     * search's path through what it measured, and {@code result} in green.
     */
    public static String scatter(String id, String title, String xUnit, List<Point> tried, List<Point> chosen, List<Point> result) {
        StringBuilder svg = start(id, title);
        double left = Double.POSITIVE_INFINITY;
        double right = Double.NEGATIVE_INFINITY;
        double top = 0;
        for (List<Point> points : List.of(tried, chosen, result)) {
            for (Point point : points) {
                left = Math.min(left, point.x());
                right = Math.max(right, point.x());
                top = Math.max(top, point.y());
            }
        }
        if (!(right > left)) {
            left = Double.isFinite(left) ? left - 1 : 0;
            right = left + 2;
        }
        top = top > 0 ? top * 1.05 : 1;
        axis(svg, 0, top);
        double span = right - left;
        left -= span * 0.04;
        right += span * 0.04;
        int plotWidth = WIDTH - LEFT - RIGHT;
        int plotHeight = HEIGHT - TOP - BOTTOM;
        double from = left;
        double to = right;
        double ceiling = top;
        ToDoubleFunction<Point> x = point -> LEFT + (point.x() - from) / (to - from) * plotWidth;
        ToDoubleFunction<Point> y = point -> HEIGHT - BOTTOM - point.y() / ceiling * plotHeight;
        for (Point point : tried) {
            svg.append(String.format(Locale.ROOT, "<circle class=\"tried\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#bbb\"><title>%s</title></circle>%n",
                    x.applyAsDouble(point), y.applyAsDouble(point), escape(point.label())));
        }
        StringBuilder path = new StringBuilder();
        for (Point point : chosen) {
            path.append(String.format(Locale.ROOT, "%.1f,%.1f ", x.applyAsDouble(point), y.applyAsDouble(point)));
        }
        svg.append(String.format(Locale.ROOT, "<polyline class=\"chosen\" fill=\"none\" stroke=\"#08519c\" stroke-width=\"2\" points=\"%s\"/>%n",
                path.toString().strip()));
        for (Point point : chosen) {
            svg.append(String.format(Locale.ROOT, "<circle class=\"chosen\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#08519c\"><title>%s</title></circle>%n",
                    x.applyAsDouble(point), y.applyAsDouble(point), escape(point.label())));
        }
        for (Point point : result) {
            svg.append(String.format(Locale.ROOT, "<circle class=\"result\" cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"none\" stroke=\"#2ca02c\" "
                    + "stroke-width=\"3\"><title>%s</title></circle>%n", x.applyAsDouble(point), y.applyAsDouble(point), escape(point.label())));
        }
        for (int tick = 0; tick <= 4; tick++) {
            double value = from + (to - from) * tick / 4;
            String anchor = tick == 0 ? "start" : tick == 4 ? "end" : "middle";
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"%s\">%.3g %s</text>%n",
                    LEFT + (double) tick / 4 * plotWidth, HEIGHT - BOTTOM + 14, anchor, value, escape(xUnit)));
        }
        return svg.append("</svg>\n").toString();
    }

    private static String polyline(String className, double[] values, double top, String color, double width) {
        StringBuilder points = new StringBuilder();
        int plotWidth = WIDTH - LEFT - RIGHT;
        for (int i = 0; i < values.length; i++) {
            double x = LEFT + (values.length == 1 ? 0 : (double) i / (values.length - 1) * plotWidth);
            double y = HEIGHT - BOTTOM - Math.min(values[i], top) / top * (HEIGHT - TOP - BOTTOM);
            points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        }
        return String.format(Locale.ROOT, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" points=\"%s\"/>%n", className, color, width,
                points.toString().strip());
    }

    /** The mean of the {@code window} values ending at each position (fewer at the start). */
    static double[] runningMean(double[] values, int window) {
        double[] means = new double[values.length];
        double sum = 0;
        for (int i = 0; i < values.length; i++) {
            sum += values[i];
            if (i >= window) {
                sum -= values[i - window];
            }
            means[i] = sum / Math.min(i + 1, window);
        }
        return means;
    }

    private static StringBuilder start(String id, String title) {
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg class=\"chart\" id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">%n",
                id, WIDTH, HEIGHT, WIDTH, HEIGHT));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"13\" font-weight=\"bold\">%s</text>%n", LEFT, escape(title)));
        return svg;
    }

    private static void axis(StringBuilder svg, double bottom, double top) {
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>%n", LEFT, TOP, LEFT, HEIGHT - BOTTOM));
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>%n", LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, HEIGHT - BOTTOM));
        // Enough decimals that the five ticks differ.
        int decimals = Math.max(2, (int) Math.ceil(-Math.log10((top - bottom) / 4)) + 1);
        for (int tick = 0; tick <= 4; tick++) {
            double value = bottom + (top - bottom) * tick / 4;
            double y = HEIGHT - BOTTOM - (double) tick / 4 * (HEIGHT - TOP - BOTTOM);
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%s</text>%n", LEFT - 4, y + 3,
                    String.format(Locale.ROOT, "%." + decimals + "f", value)));
        }
    }

    private static String escape(String text) {
        return XmlText.escape(text);
    }
}
