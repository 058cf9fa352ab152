package dev.spikeconv.converter.report;

/** Text made safe for XML and HTML: markup characters escaped, characters XML 1.0 forbids dropped. */
public final class XmlText {
    private XmlText() {}

    public static String escape(String text) {
        StringBuilder escaped = new StringBuilder(text.length());
        text.codePoints().forEach(codePoint -> {
            switch (codePoint) {
                case '&' -> escaped.append("&amp;");
                case '<' -> escaped.append("&lt;");
                case '>' -> escaped.append("&gt;");
                case '"' -> escaped.append("&quot;");
                case '\'' -> escaped.append("&apos;");
                default -> {
                    // XML 1.0 allows tab, newline, carriage return and everything from space up (minus surrogates)
                    if (codePoint == 0x9 || codePoint == 0xA || codePoint == 0xD || (codePoint >= 0x20 && codePoint != 0xFFFE && codePoint != 0xFFFF)) {
                        escaped.appendCodePoint(codePoint);
                    }
                }
            }
        });
        return escaped.toString();
    }
}
