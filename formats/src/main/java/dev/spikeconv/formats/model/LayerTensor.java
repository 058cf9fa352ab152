package dev.spikeconv.formats.model;

import dev.spikeconv.formats.tensor.Shape;

/** The tensors of one decoder layer, by their canonical (Hugging Face Llama) name suffix. */
public enum LayerTensor {
    ATTENTION_NORM("input_layernorm.weight"),
    QUERY_WEIGHT("self_attn.q_proj.weight"),
    QUERY_BIAS("self_attn.q_proj.bias"),
    KEY_WEIGHT("self_attn.k_proj.weight"),
    KEY_BIAS("self_attn.k_proj.bias"),
    VALUE_WEIGHT("self_attn.v_proj.weight"),
    VALUE_BIAS("self_attn.v_proj.bias"),
    OUTPUT_WEIGHT("self_attn.o_proj.weight"),
    OUTPUT_BIAS("self_attn.o_proj.bias"),
    QUERY_NORM("self_attn.q_norm.weight"),
    KEY_NORM("self_attn.k_norm.weight"),
    /** GLA decay gate, first (down) projection of the low-rank pair. */
    DECAY_GATE_DOWN_WEIGHT("self_attn.gk_proj.0.weight"),
    /** GLA decay gate, second (up) projection: one logit per key channel. */
    DECAY_GATE_UP_WEIGHT("self_attn.gk_proj.1.weight"),
    DECAY_GATE_UP_BIAS("self_attn.gk_proj.1.bias"),
    /** GLA per-head RMSNorm weight applied to the attention output. */
    HEAD_OUTPUT_NORM("self_attn.g_norm.weight"),
    /** A hybrid layer's random feature directions {@code [features, head_dim]}, shared by its heads. */
    FEATURE_MAP("self_attn.feature_map.weight"),
    /** A hybrid layer's per-feature log importance weights (halved: each of a query's and a key's features carries one half). */
    FEATURE_BIAS("self_attn.feature_map.bias"),
    /** A hybrid layer's weight of the linear branch against the window, one per query head (0: the layer is its window). */
    LINEAR_SCALE("self_attn.linear_scale"),
    MLP_NORM("post_attention_layernorm.weight"),
    MLP_GATE_WEIGHT("mlp.gate_proj.weight"),
    MLP_GATE_BIAS("mlp.gate_proj.bias"),
    MLP_UP_WEIGHT("mlp.up_proj.weight"),
    MLP_UP_BIAS("mlp.up_proj.bias"),
    MLP_DOWN_WEIGHT("mlp.down_proj.weight"),
    MLP_DOWN_BIAS("mlp.down_proj.bias");

    private final String suffix;

    LayerTensor(String suffix) {
        this.suffix = suffix;
    }

    public String suffix() {
        return suffix;
    }

    /** The canonical name of this tensor in layer {@code layer}. */
    public String name(int layer) {
        return TensorNames.layerPrefix(layer) + suffix;
    }

    /** Whether a layer of the given attention kind has this tensor under {@code config}. */
    public boolean isPresent(ModelConfig config, AttentionKind attention) {
        return switch (this) {
            case ATTENTION_NORM, QUERY_WEIGHT, KEY_WEIGHT, VALUE_WEIGHT, OUTPUT_WEIGHT,
                 MLP_NORM, MLP_GATE_WEIGHT, MLP_UP_WEIGHT, MLP_DOWN_WEIGHT -> true;
            case QUERY_BIAS, KEY_BIAS, VALUE_BIAS -> config.qkvBias();
            case OUTPUT_BIAS -> config.outputProjectionBias();
            case QUERY_NORM, KEY_NORM -> config.qkNorm();
            case DECAY_GATE_DOWN_WEIGHT, DECAY_GATE_UP_WEIGHT, DECAY_GATE_UP_BIAS, HEAD_OUTPUT_NORM -> attention.decayGate();
            case FEATURE_MAP, FEATURE_BIAS, LINEAR_SCALE -> attention.linearFeatures();
            case MLP_GATE_BIAS, MLP_UP_BIAS, MLP_DOWN_BIAS -> config.mlpBias();
        };
    }

    /** The row-major shape this tensor must have under {@code config} in a layer of the given attention kind. */
    public Shape shape(ModelConfig config, AttentionKind attention) {
        long hidden = config.hiddenSize();
        long queryWidth = (long) config.headCount() * config.headDimension();
        long keyValueWidth = (long) config.keyValueHeadCount() * config.headDimension();
        long intermediate = config.intermediateSize();
        long lowRank = config.gateLowRankDimension();
        return switch (this) {
            case ATTENTION_NORM, MLP_NORM, MLP_DOWN_BIAS, OUTPUT_BIAS -> Shape.of(hidden);
            case QUERY_WEIGHT -> Shape.of(queryWidth, hidden);
            case QUERY_BIAS -> Shape.of(queryWidth);
            case KEY_WEIGHT, VALUE_WEIGHT -> Shape.of(keyValueWidth, hidden);
            case KEY_BIAS, VALUE_BIAS, DECAY_GATE_UP_BIAS -> Shape.of(keyValueWidth);
            case OUTPUT_WEIGHT -> Shape.of(hidden, queryWidth);
            case FEATURE_MAP -> Shape.of(AttentionKind.HYBRID_FEATURES, config.headDimension());
            case FEATURE_BIAS -> Shape.of(AttentionKind.HYBRID_FEATURES);
            case LINEAR_SCALE -> Shape.of(config.headCount());
            case QUERY_NORM, KEY_NORM, HEAD_OUTPUT_NORM -> Shape.of(config.headDimension());
            case DECAY_GATE_DOWN_WEIGHT -> Shape.of(lowRank, hidden);
            case DECAY_GATE_UP_WEIGHT -> Shape.of(keyValueWidth, lowRank);
            case MLP_GATE_WEIGHT, MLP_UP_WEIGHT -> Shape.of(intermediate, hidden);
            case MLP_GATE_BIAS, MLP_UP_BIAS -> Shape.of(intermediate);
            case MLP_DOWN_WEIGHT -> Shape.of(hidden, intermediate);
        };
    }
}
