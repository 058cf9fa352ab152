package dev.spikeconv.converter;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The spikeconv version, filtered into the jar at build time; written into every file spikeconv produces. */
public final class SpikeconvVersion {
    private static final String VERSION = load();

    private SpikeconvVersion() {}

    public static String get() {
        return VERSION;
    }

    private static String load() {
        Properties properties = new Properties();
        try (InputStream stream = SpikeconvVersion.class.getResourceAsStream("version.properties")) {
            if (stream != null) {
                properties.load(stream);
            }
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return properties.getProperty("version", "unknown");
    }
}
