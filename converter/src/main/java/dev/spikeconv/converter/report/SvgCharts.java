package dev.spikeconv.converter.report;

import java.util.List;
import java.util.Locale;

/** Small SVG charts written directly: grouped bars per label, and a line over positions. */
public final class SvgCharts {
    private static final int WIDTH = 720;
    private static final int HEIGHT = 260;
    private static final int LEFT = 56;
    private static final int RIGHT = 16;
    private static final int TOP = 28;
    private static final int BOTTOM = 36;

    /** One series of a bar chart. */
    public record Series(String name, double[] values, String color) {}

    private SvgCharts() {}

    public static String bars(String id, String title, List<String> labels, List<Series> series, double maximum) {
        StringBuilder svg = start(id, title);
        double top = maximum > 0 ? maximum : 1;
        axis(svg, top);
        int plotWidth = WIDTH - LEFT - RIGHT;
        double slot = (double) plotWidth / Math.max(1, labels.size());
        double barWidth = slot * 0.8 / Math.max(1, series.size());
        for (int i = 0; i < labels.size(); i++) {
            for (int s = 0; s < series.size(); s++) {
                double value = Math.max(0, Math.min(top, series.get(s).values()[i]));
                double height = value / top * (HEIGHT - TOP - BOTTOM);
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

    public static String line(String id, String title, double[] values) {
        StringBuilder svg = start(id, title);
        double top = 0;
        for (double value : values) {
            top = Math.max(top, value);
        }
        top = top > 0 ? top : 1;
        axis(svg, top);
        StringBuilder points = new StringBuilder();
        int plotWidth = WIDTH - LEFT - RIGHT;
        for (int i = 0; i < values.length; i++) {
            double x = LEFT + (values.length == 1 ? 0 : (double) i / (values.length - 1) * plotWidth);
            double y = HEIGHT - BOTTOM - values[i] / top * (HEIGHT - TOP - BOTTOM);
            points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        }
        svg.append("<polyline class=\"series\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.2\" points=\"").append(points.toString().strip()).append("\"/>\n");
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">position 0</text><text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">%d</text>%n",
                LEFT, HEIGHT - BOTTOM + 14, WIDTH - RIGHT, HEIGHT - BOTTOM + 14, values.length - 1));
        return svg.append("</svg>\n").toString();
    }

    private static StringBuilder start(String id, String title) {
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg class=\"chart\" id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">%n",
                id, WIDTH, HEIGHT, WIDTH, HEIGHT));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"13\" font-weight=\"bold\">%s</text>%n", LEFT, escape(title)));
        return svg;
    }

    private static void axis(StringBuilder svg, double top) {
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>%n", LEFT, TOP, LEFT, HEIGHT - BOTTOM));
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>%n", LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, HEIGHT - BOTTOM));
        for (int tick = 0; tick <= 4; tick++) {
            double value = top * tick / 4;
            double y = HEIGHT - BOTTOM - (double) tick / 4 * (HEIGHT - TOP - BOTTOM);
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%s</text>%n", LEFT - 4, y + 3,
                    String.format(Locale.ROOT, top < 0.1 ? "%.3f" : "%.2f", value)));
        }
    }

    private static String escape(String text) {
        return XmlText.escape(text);
    }
}
