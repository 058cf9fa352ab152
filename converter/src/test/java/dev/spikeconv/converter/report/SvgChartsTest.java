package dev.spikeconv.converter.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class SvgChartsTest {
    private static final Pattern BAR_HEIGHT = Pattern.compile("<rect class=\"bar\" x=\"[^\"]+\" y=\"[^\"]+\" width=\"[^\"]+\" height=\"([^\"]+)\"");

    @Test
    void theRunningMeanAveragesTheLastWindowOfValues() {
        assertThat(SvgCharts.runningMean(new double[] {1, 2, 3, 4, 10}, 2)).containsExactly(1, 1.5, 2.5, 3.5, 7);
        assertThat(SvgCharts.runningMean(new double[] {4, 4, 4}, 8)).containsExactly(4, 4, 4);
    }

    /** On an axis from 0.99 to 1, cosines of 0.99 and 0.9975 are bars of no height and of three quarters of the plot. */
    @Test
    void barsStartAtTheAxisMinimum() {
        String svg = SvgCharts.bars("cosine", "cosine", List.of("a", "b", "c"), List.of(new SvgCharts.Series("cosine", new double[] {0.99, 0.9975, 1},
                "#000")), 0.99, 1);
        Matcher heights = BAR_HEIGHT.matcher(svg);
        double[] found = new double[3];
        for (int i = 0; i < 3; i++) {
            assertThat(heights.find()).isTrue();
            found[i] = Double.parseDouble(heights.group(1));
        }
        assertThat(found[0]).isZero();
        assertThat(found[1] / found[2]).isCloseTo(0.75, offset(1e-3));
        assertThat(svg).contains(">0.9900<", ">1.0000<");
    }

    @Test
    void aLineHasItsRunningMeanAndClipsRareSpikes() {
        double[] values = new double[200];
        values[100] = 50;
        Arrays.fill(values, 0, 100, 1);
        String svg = SvgCharts.line("kl", "KL", values, 10);
        assertThat(svg).contains("class=\"series\"", "class=\"running-mean\"", "mean of 10 positions");
        // the axis ends at the 99th percentile (1), not at the one spike of 50
        assertThat(svg).contains(">1.00<").doesNotContain(">50.00<");
    }
}
