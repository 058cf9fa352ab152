package dev.spikeconv.converter.plan;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.layers.GatedLinearLayer;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * Parses layer plans: {@code spikingbrain} (even layers GLA, odd SWA with window 4096),
 * {@code alternate} (the same with the chosen window), {@code all-gla}, {@code all-swa}, {@code dense}
 * (the source's own attention), or an explicit list such as {@code 0-3:gla,4:swa/512+4,5:softmax}
 * naming every layer exactly once, each item in its kind's own syntax ({@link LayerKind#parse}). A plan
 * that cannot apply is an {@link InvalidOptionException} whose message says why.
 */
public final class LayerPlans {
    public static final int SPIKINGBRAIN_WINDOW = 4096;
    /** The names {@link #parse} knows besides explicit lists, for help and completion. */
    public static final List<String> NAMED = List.of("spikingbrain", "alternate", "all-gla", "all-swa", "dense");
    private static final Pattern ITEM = Pattern.compile("(\\d+)(?:-(\\d+))?:(.+)");

    private LayerPlans() {}

    /**
     * @param window window of SWA layers whose plan does not name one ({@code alternate}, {@code all-swa}, {@code swa} items)
     * @param sinks  sink positions of those layers
     */
    public static LayerPlan parse(String plan, int window, int sinks, ModelConfig source) {
        if (window < 1) {
            throw new InvalidOptionException("window", "must be at least 1, found " + window);
        }
        if (sinks < 0) {
            throw new InvalidOptionException("sinks", "must be at least 0, found " + sinks);
        }
        int count = source.layerCount();
        List<LayerAttention> layers = new ArrayList<>();
        switch (plan) {
            case "spikingbrain" -> alternate(layers, count, SPIKINGBRAIN_WINDOW, sinks);
            case "alternate" -> alternate(layers, count, window, sinks);
            case "all-gla" -> layers.addAll(Collections.nCopies(count, new GatedLinearLayer().attention()));
            case "all-swa" -> layers.addAll(Collections.nCopies(count, new SlidingWindowLayer(window, sinks).attention()));
            case "dense" -> layers.addAll(source.layers());
            default -> layers.addAll(explicit(plan, count, window, sinks));
        }
        return new LayerPlan(plan, layers);
    }

    private static void alternate(List<LayerAttention> layers, int count, int window, int sinks) {
        for (int layer = 0; layer < count; layer++) {
            layers.add(layer % 2 == 0 ? new GatedLinearLayer().attention() : new SlidingWindowLayer(window, sinks).attention());
        }
    }

    private static List<LayerAttention> explicit(String plan, int count, int window, int sinks) {
        LayerAttention[] layers = new LayerAttention[count];
        for (String item : plan.split(",", -1)) {
            Matcher matcher = ITEM.matcher(item.strip());
            if (!matcher.matches()) {
                throw new InvalidOptionException("plan", "unknown plan '" + plan + "': expected " + String.join(", ", NAMED)
                        + " or items like 0-3:gla,4:swa/512+4,5:softmax; '" + item + "' is neither");
            }
            int first = parseIndex(matcher.group(1), item);
            int last = matcher.group(2) == null ? first : parseIndex(matcher.group(2), item);
            if (last < first) {
                throw new InvalidOptionException("plan", "item '" + item + "': range " + first + "-" + last + " is empty");
            }
            if (last >= count) {
                throw new InvalidOptionException("plan", "item '" + item + "': the model has layers 0-" + (count - 1));
            }
            LayerAttention attention = LayerKind.parse(matcher.group(3), window, sinks).attention();
            for (int layer = first; layer <= last; layer++) {
                if (layers[layer] != null) {
                    throw new InvalidOptionException("plan", "'" + plan + "' names layer " + layer + " twice");
                }
                layers[layer] = attention;
            }
        }
        int[] missing = IntStream.range(0, count).filter(layer -> layers[layer] == null).toArray();
        if (missing.length > 0) {
            throw new InvalidOptionException("plan", "'" + plan + "' does not name layer(s) " + Arrays.toString(missing)
                    + "; an explicit plan names every layer 0-" + (count - 1) + " exactly once");
        }
        return Arrays.asList(layers);
    }

    /** The explicit plan naming {@code layers} in {@link #parse}'s syntax, runs of one kind as ranges: {@code 0:gla,1-3:swa/4096+4}. */
    public static String explicit(List<LayerAttention> layers) {
        List<String> items = new ArrayList<>();
        int first = 0;
        for (int layer = 1; layer <= layers.size(); layer++) {
            if (layer == layers.size() || !layers.get(layer).equals(layers.get(first))) {
                items.add((layer - 1 == first ? String.valueOf(first) : first + "-" + (layer - 1)) + ":" + layers.get(first));
                first = layer;
            }
        }
        return String.join(",", items);
    }

    private static int parseIndex(String digits, String item) {
        try {
            return Integer.parseInt(digits);
        }
        catch (NumberFormatException e) {
            throw new InvalidOptionException("plan", "item '" + item + "': " + digits + " is too large");
        }
    }
}
