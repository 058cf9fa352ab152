package dev.spikeconv.formats.hf;

import dev.spikeconv.formats.model.TensorNames;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tensor names of SpikingBrain's {@code GLAswaForCausalLM} (and so of spikeconv bundles), mapped to
 * and from the canonical Hugging Face Llama names.
 */
public final class SpikingBrainNames {
    public static final String EMBEDDING = "model.embeddings.weight";
    /** Suffix of the float32 scale tensor beside an int8 weight. */
    public static final String SCALE_SUFFIX = "_scale";

    private static final Pattern SPIKINGBRAIN_LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(attn_norm|mlp_norm|attn|mlp)\\.(.+)");
    private static final Pattern CANONICAL_LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(input_layernorm|post_attention_layernorm|self_attn|mlp)\\.(.+)");

    private SpikingBrainNames() {}

    /** The canonical name for a SpikingBrain name, or empty when it is not a model tensor. */
    public static Optional<String> toCanonical(String name) {
        if (name.equals(EMBEDDING)) {
            return Optional.of(TensorNames.EMBEDDING);
        }
        if (name.equals(TensorNames.FINAL_NORM) || name.equals(TensorNames.LM_HEAD)) {
            return Optional.of(name);
        }
        Matcher matcher = SPIKINGBRAIN_LAYER.matcher(name);
        if (!matcher.matches()) {
            return Optional.empty();
        }
        String module = switch (matcher.group(2)) {
            case "attn_norm" -> "input_layernorm";
            case "mlp_norm" -> "post_attention_layernorm";
            case "attn" -> "self_attn";
            default -> "mlp";
        };
        return Optional.of("model.layers." + matcher.group(1) + "." + module + "." + matcher.group(3));
    }

    /** The SpikingBrain name for a canonical name. */
    public static String fromCanonical(String name) {
        if (name.equals(TensorNames.EMBEDDING)) {
            return EMBEDDING;
        }
        Matcher matcher = CANONICAL_LAYER.matcher(name);
        if (!matcher.matches()) {
            return name;
        }
        String module = switch (matcher.group(2)) {
            case "input_layernorm" -> "attn_norm";
            case "post_attention_layernorm" -> "mlp_norm";
            case "self_attn" -> "attn";
            default -> "mlp";
        };
        return "model.layers." + matcher.group(1) + "." + module + "." + matcher.group(3);
    }
}
