package dev.spikeconv.converter.calibration;

import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The statistics of every spiking site, bound to the model state they were measured on (a digest of
 * its tensors) and the tokens (a digest of the ids), with how many sequences they cover. Saved as
 * safetensors (int64 histograms, the binding in the metadata): the checkpoint of an interrupted run,
 * or a file {@code --merge} adds to a later run.
 */
public final class CalibrationStatistics {
    static final String FORMAT = "spikeconv-calibration-statistics-1";
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String modelDigest;
    private final String tokenDigest;
    private final SequencedMap<String, SiteStatistics> sites;
    private int sequences;

    public CalibrationStatistics(String modelDigest, String tokenDigest, List<String> sites) {
        this.modelDigest = modelDigest;
        this.tokenDigest = tokenDigest;
        this.sites = new LinkedHashMap<>();
        sites.forEach(site -> this.sites.put(site, new SiteStatistics(site)));
    }

    public String modelDigest() {
        return modelDigest;
    }

    public String tokenDigest() {
        return tokenDigest;
    }

    public SequencedMap<String, SiteStatistics> sites() {
        return sites;
    }

    /** Sequences covered so far: where a resumed run continues. */
    public int sequences() {
        return sequences;
    }

    /**
     * Adds activations {@code [tokens, width]} that every site of {@code group} reads (see {@link SpikeSites#sharedInputGroups}),
     * histogrammed once.
     */
    public void addShared(List<String> group, float[] activations, int tokens, int width) {
        if (group.size() == 1) {
            sites.get(group.getFirst()).add(activations, tokens, width);
            return;
        }
        SiteStatistics once = new SiteStatistics(group.getFirst());
        once.add(activations, tokens, width);
        group.forEach(site -> sites.get(site).merge(once));
    }

    /** Records that the statistics cover {@code count} more sequences. */
    public void sequencesDone(int count) {
        sequences += count;
    }

    /** Adds the statistics of another run on the same model state and sites (other tokens are the point). */
    public void merge(CalibrationStatistics other, Path source) {
        if (!other.modelDigest.equals(modelDigest)) {
            throw InvalidInputException.forFile(source, "was measured on another model state (tensor digest " + other.modelDigest.substring(0, 12)
                    + "..., this run " + modelDigest.substring(0, 12) + "...); merge statistics of the same bundle, after the same attention transfer");
        }
        if (!other.sites.keySet().equals(sites.keySet())) {
            throw InvalidInputException.forFile(source, "covers other spiking sites than this bundle");
        }
        other.sites.forEach((site, statistics) -> sites.get(site).merge(statistics));
        sequences += other.sequences;
    }

    /** Writes atomically: a temporary sibling renamed over {@code file}. */
    public void write(Path file) throws IOException {
        Map<String, long[]> values = histograms("");
        List<SafetensorsWriter.TensorEntry> entries = new ArrayList<>();
        values.forEach((name, longs) -> entries.add(new SafetensorsWriter.TensorEntry(name, DType.I64, Shape.of(longs.length))));
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", FORMAT);
        metadata.put("model_digest", modelDigest);
        metadata.put("token_digest", tokenDigest);
        metadata.put("sequences", String.valueOf(sequences));
        Path absolute = file.toAbsolutePath();
        Path temporary = absolute.resolveSibling("." + absolute.getFileName() + ".tmp");
        SafetensorsWriter.write(temporary, entries, metadata, (entry, channel) -> writeLongs(values.get(entry.name()), channel));
        Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Every histogram as int64 counts, named {@code <prefix><site>.magnitudes} and {@code <prefix><site>.relative_magnitudes}. */
    Map<String, long[]> histograms(String prefix) {
        Map<String, long[]> values = new LinkedHashMap<>();
        for (SiteStatistics site : sites.values()) {
            values.put(prefix + site.site() + ".magnitudes", site.magnitudes().toLongs());
            values.put(prefix + site.site() + ".relative_magnitudes", site.relativeMagnitudes().toLongs());
        }
        return values;
    }

    static void writeLongs(long[] longs, java.nio.channels.WritableByteChannel channel) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(longs.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asLongBuffer().put(longs);
        SafetensorsWriter.writeFully(channel, bytes);
    }

    public static CalibrationStatistics read(Path file) throws IOException {
        try (SafetensorsFile safetensors = SafetensorsFile.open(file)) {
            Map<String, String> metadata = safetensors.metadata();
            if (!FORMAT.equals(metadata.get("format"))) {
                throw InvalidInputException.forField(file, "format", FORMAT, metadata.get("format"));
            }
            return read(safetensors, "", required(metadata, "model_digest", file), required(metadata, "token_digest", file),
                    required(metadata, "sequences", file), file);
        }
    }

    /** Statistics from the histograms {@link #histograms} named in {@code safetensors}. */
    static CalibrationStatistics read(SafetensorsFile safetensors, String prefix, String modelDigest, String tokenDigest, String sequences, Path file) {
        List<String> names = new ArrayList<>();
        for (String name : safetensors.tensors().keySet()) {
            if (name.startsWith(prefix) && name.endsWith(".relative_magnitudes")) {
                names.add(name.substring(prefix.length(), name.length() - ".relative_magnitudes".length()));
            }
        }
        CalibrationStatistics statistics = new CalibrationStatistics(modelDigest, tokenDigest, names);
        try {
            statistics.sequences = Integer.parseInt(sequences);
            for (String site : names) {
                SiteStatistics loaded = new SiteStatistics(site, histogram(safetensors, prefix + site + ".magnitudes", file),
                        histogram(safetensors, prefix + site + ".relative_magnitudes", file));
                statistics.sites.get(site).merge(loaded);
            }
        }
        catch (IllegalArgumentException e) {
            throw InvalidInputException.forFile(file, "is not a consistent statistics file: " + e.getMessage());
        }
        return statistics;
    }

    static String required(Map<String, String> metadata, String key, Path file) {
        String value = metadata.get(key);
        if (value == null) {
            throw InvalidInputException.forField(file, "metadata " + key, "a value", "nothing");
        }
        return value;
    }

    private static MagnitudeHistogram histogram(SafetensorsFile file, String name, Path path) {
        StoredTensor tensor = file.tensors().get(name);
        if (tensor == null || tensor.dtype() != DType.I64) {
            throw InvalidInputException.forField(path, name, "an I64 histogram", tensor == null ? "nothing" : tensor.dtype());
        }
        long[] values = new long[(int) Math.min(Integer.MAX_VALUE - 8, tensor.shape().elementCount())];
        for (int i = 0; i < values.length; i++) {
            values[i] = tensor.data().get(LONG, 8L * i);
        }
        return MagnitudeHistogram.fromLongs(values);
    }
}
