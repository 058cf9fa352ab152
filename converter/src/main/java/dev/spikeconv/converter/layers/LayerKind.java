package dev.spikeconv.converter.layers;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one attention kind is to the converter, in one place: its plan syntax, the hardware op family it needs, the
 * keys a query sees, what a sequence carries from token to token (keys and values, a recurrent state, or both) and its
 * size, the operations it costs per token, and the tensors a conversion adds for it with their starting values.
 *
 * <p>The code that runs a kind lives with its engine, chosen by one exhaustive switch over these types: its ONNX nodes
 * ({@code onnx.DecoderGraphWriter}) and its reference step ({@code reference.ReferenceModel}). A new kind needs a class
 * here, a nodes class, a reference method, and its name in the formats' {@code AttentionKind}; see docs/design.md.
 */
public sealed interface LayerKind permits SoftmaxLayer, SlidingWindowLayer, GatedLinearLayer, HybridLayer {
    /** One layer's plan syntax: a kind name, optionally {@code /window} and {@code +sinks}. */
    Pattern SPEC = Pattern.compile("([a-z]+)(?:/(\\d+)(?:\\+(\\d+))?)?");

    /** The kind of a layer as a config describes it: the one switch from the formats' description to a kind. */
    static LayerKind of(LayerAttention attention) {
        return switch (attention.kind()) {
            case SOFTMAX -> new SoftmaxLayer();
            case SLIDING_WINDOW -> new SlidingWindowLayer(attention.window(), attention.sinks());
            case GATED_LINEAR -> new GatedLinearLayer();
            case HYBRID -> new HybridLayer(attention.window(), attention.sinks());
        };
    }

    static LayerKind of(ModelConfig config, int layer) {
        return of(config.layer(layer));
    }

    /** Every layer's kind, in order. */
    static List<LayerKind> of(ModelConfig config) {
        List<LayerKind> kinds = new ArrayList<>();
        for (int layer = 0; layer < config.layerCount(); layer++) {
            kinds.add(of(config, layer));
        }
        return kinds;
    }

    /**
     * Parses one layer's plan syntax ({@code softmax}, {@code gla}, {@code swa}, {@code swa/512}, {@code swa/512+4}, {@code hybrid/64+4});
     * windowed kinds without their own window take {@code window} and {@code sinks}.
     */
    static LayerKind parse(String spec, int window, int sinks) {
        Matcher matcher = SPEC.matcher(spec);
        if (!matcher.matches()) {
            throw new InvalidOptionException("plan", "'" + spec + "' is not a layer kind: expected softmax, gla, swa, swa/W, swa/W+S or hybrid/W+S");
        }
        String name = matcher.group(1);
        boolean windowGiven = matcher.group(2) != null;
        int itemWindow = windowGiven ? parseCount(matcher.group(2), spec) : window;
        int itemSinks = matcher.group(3) != null ? parseCount(matcher.group(3), spec) : sinks;
        return switch (name) {
            case "softmax", "gla" -> {
                if (windowGiven) {
                    throw new InvalidOptionException("plan", "'" + spec + "': only windowed kinds (swa, hybrid) take a window");
                }
                yield name.equals("gla") ? new GatedLinearLayer() : new SoftmaxLayer();
            }
            case "swa", "hybrid" -> {
                if (itemWindow < 1) {
                    throw new InvalidOptionException("plan", "'" + spec + "': the window must be at least 1");
                }
                yield name.equals("swa") ? new SlidingWindowLayer(itemWindow, itemSinks) : new HybridLayer(itemWindow, itemSinks);
            }
            default -> throw new InvalidOptionException("plan", "'" + spec + "': unknown layer kind '" + name + "'; expected softmax, gla, swa or hybrid");
        };
    }

    private static int parseCount(String digits, String spec) {
        try {
            return Integer.parseInt(digits);
        }
        catch (NumberFormatException e) {
            throw new InvalidOptionException("plan", "'" + spec + "': " + digits + " is too large");
        }
    }

    /** The formats' description of this kind: what a config records. */
    LayerAttention attention();

    /** The hardware op families that run this kind's token mixing (a hybrid needs two). */
    List<OpFamily> opFamilies();

    /** Whether a query at position {@code query} weighs the key at {@code key} with softmax; a recurrent kind weighs none directly. */
    boolean seesKey(int key, int query);

    /** The keys a query sees through softmax, when a window bounds them (sinks included). */
    OptionalInt visibleKeys();

    /** Whether a sequence carries this layer's keys and values from token to token (a KV cache, whole or windowed). */
    boolean keepsKeys();

    /** Whether a sequence carries a fixed-size recurrent state (GLA's {@code [kv_heads, d, d]}). */
    boolean keepsState();

    /** Values a sequence carries for this layer at {@code context} tokens, split by how they grow. */
    SequenceMemory sequenceMemory(ModelConfig config, long context);

    /** Multiply-accumulates of the token mixing itself for one decoded token at {@code context} (projections apart). */
    double mixingMacsPerToken(ModelConfig config, long context);

    /** Tensors a conversion adds to a layer of this kind, with their training-free starting values. */
    Map<LayerTensor, float[]> initialTensors(ModelConfig config, int layer);

    /** What a sequence keeps for one layer, in values (bytes depend on the dtype a target stores them in). */
    record SequenceMemory(long stateValues, long windowCacheValues, long growingCacheValues) {
        public static final SequenceMemory NONE = new SequenceMemory(0, 0, 0);

        public SequenceMemory plus(SequenceMemory other) {
            return new SequenceMemory(stateValues + other.stateValues, windowCacheValues + other.windowCacheValues,
                    growingCacheValues + other.growingCacheValues);
        }
    }
}
