package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.report.XmlText;
import java.util.Locale;

/**
 * {@code --junit FILE.xml}: one test case per goal, a missed goal as a failure, in the JUnit XML
 * layout CI test reporters read (Jenkins, GitLab, GitHub test-report actions).
 */
public final class JunitReport {
    private JunitReport() {}

    public static String render(VerifyReport report) {
        long failures = report.goals().stream().filter(goal -> !goal.passed()).count();
        StringBuilder xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        xml.append(String.format(Locale.ROOT, "<testsuites name=\"spikeconv verify\" tests=\"%d\" failures=\"%d\" errors=\"0\">%n", report.goals().size(), failures));
        xml.append(String.format(Locale.ROOT, "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"0\">%n",
                escape("spikeconv.verify." + report.bundle()), report.goals().size(), failures));
        for (GoalResult goal : report.goals()) {
            xml.append(String.format(Locale.ROOT, "    <testcase classname=\"spikeconv.verify\" name=\"%s\"", escape(goal.name())));
            if (goal.passed()) {
                xml.append(">\n      <system-out>").append(escape(goal.detail())).append("</system-out>\n    </testcase>\n");
            }
            else {
                xml.append(">\n      <failure type=\"GoalMissed\" message=\"").append(escape(goal.detail())).append("\">")
                        .append(escape(goal.detail() + (goal.nextStep() == null ? "" : "\nnext: " + goal.nextStep()))).append("</failure>\n    </testcase>\n");
            }
        }
        xml.append("  </testsuite>\n</testsuites>\n");
        return xml.toString();
    }

    private static String escape(String text) {
        return XmlText.escape(text);
    }
}
