package dev.spikeconv.formats.model;

import dev.spikeconv.formats.io.InvalidInputException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * The normalized hyper-parameters of a pre-norm decoder ({@code h = x + Attn(RMSNorm(x))},
 * {@code y = h + MLP(RMSNorm(h))}, SwiGLU MLP, rotate-half RoPE), whatever format it came from.
 */
public record ModelConfig(
        Architecture architecture,
        int vocabularySize,
        int hiddenSize,
        int intermediateSize,
        int headCount,
        int keyValueHeadCount,
        int headDimension,
        double normEpsilon,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositions,
        boolean qkvBias,
        boolean outputProjectionBias,
        boolean mlpBias,
        boolean qkNorm,
        boolean tiedEmbeddings,
        List<LayerAttention> layers,
        OptionalInt bosTokenId,
        OptionalInt eosTokenId,
        int gateLowRankDimension,
        int gateLogitNormalizer,
        SpikeSettings spike) {
    /** SpikingBrain's low-rank gate width and log-sigmoid normalizer. */
    public static final int DEFAULT_GATE_LOW_RANK_DIMENSION = 16;
    public static final int DEFAULT_GATE_LOGIT_NORMALIZER = 16;

    // Far beyond any released model, low enough that products of them fit a long.
    static final int MAX_DIMENSION = 1 << 20;
    static final int MAX_VOCABULARY = 1 << 24;
    static final int MAX_LAYERS = 4096;
    static final int MAX_HEADS = 4096;

    public ModelConfig {
        Objects.requireNonNull(architecture);
        Objects.requireNonNull(ropeScaling);
        layers = List.copyOf(layers);
        Objects.requireNonNull(bosTokenId);
        Objects.requireNonNull(eosTokenId);
        Objects.requireNonNull(spike);
    }

    public static Builder builder(Architecture architecture) {
        return new Builder(architecture);
    }

    public int layerCount() {
        return layers.size();
    }

    public LayerAttention layer(int index) {
        return layers.get(index);
    }

    /** Query heads per key/value head. */
    public int groupSize() {
        return headCount / keyValueHeadCount;
    }

    public Builder toBuilder() {
        Builder builder = new Builder(architecture)
                .vocabularySize(vocabularySize)
                .hiddenSize(hiddenSize)
                .intermediateSize(intermediateSize)
                .headCount(headCount)
                .keyValueHeadCount(keyValueHeadCount)
                .headDimension(headDimension)
                .normEpsilon(normEpsilon)
                .ropeTheta(ropeTheta)
                .ropeScaling(ropeScaling)
                .maxPositions(maxPositions)
                .qkvBias(qkvBias)
                .outputProjectionBias(outputProjectionBias)
                .mlpBias(mlpBias)
                .qkNorm(qkNorm)
                .tiedEmbeddings(tiedEmbeddings)
                .layers(layers)
                .gateLowRankDimension(gateLowRankDimension)
                .gateLogitNormalizer(gateLogitNormalizer)
                .spike(spike);
        bosTokenId.ifPresent(builder::bosTokenId);
        eosTokenId.ifPresent(builder::eosTokenId);
        return builder;
    }

    /** Collects hyper-parameters; {@link #build(Path)} checks them and names the source file when one is wrong. */
    public static final class Builder {
        private Architecture architecture;
        private int vocabularySize;
        private int hiddenSize;
        private int intermediateSize;
        private int headCount;
        private int keyValueHeadCount;
        private int headDimension;
        private double normEpsilon = 1e-5;
        private double ropeTheta = 10000;
        private RopeScaling ropeScaling = RopeScaling.NONE;
        private int maxPositions;
        private boolean qkvBias;
        private boolean outputProjectionBias;
        private boolean mlpBias;
        private boolean qkNorm;
        private boolean tiedEmbeddings;
        private List<LayerAttention> layers = List.of();
        private OptionalInt bosTokenId = OptionalInt.empty();
        private OptionalInt eosTokenId = OptionalInt.empty();
        private int gateLowRankDimension = DEFAULT_GATE_LOW_RANK_DIMENSION;
        private int gateLogitNormalizer = DEFAULT_GATE_LOGIT_NORMALIZER;
        private SpikeSettings spike = SpikeSettings.OFF;

        private Builder(Architecture architecture) {
            this.architecture = architecture;
        }

        public Builder architecture(Architecture value) {
            architecture = value;
            return this;
        }

        public Builder vocabularySize(int value) {
            vocabularySize = value;
            return this;
        }

        public Builder hiddenSize(int value) {
            hiddenSize = value;
            return this;
        }

        public Builder intermediateSize(int value) {
            intermediateSize = value;
            return this;
        }

        public Builder headCount(int value) {
            headCount = value;
            return this;
        }

        public Builder keyValueHeadCount(int value) {
            keyValueHeadCount = value;
            return this;
        }

        public Builder headDimension(int value) {
            headDimension = value;
            return this;
        }

        public Builder normEpsilon(double value) {
            normEpsilon = value;
            return this;
        }

        public Builder ropeTheta(double value) {
            ropeTheta = value;
            return this;
        }

        public Builder ropeScaling(RopeScaling value) {
            ropeScaling = value;
            return this;
        }

        public Builder maxPositions(int value) {
            maxPositions = value;
            return this;
        }

        public Builder qkvBias(boolean value) {
            qkvBias = value;
            return this;
        }

        public Builder outputProjectionBias(boolean value) {
            outputProjectionBias = value;
            return this;
        }

        public Builder mlpBias(boolean value) {
            mlpBias = value;
            return this;
        }

        public Builder qkNorm(boolean value) {
            qkNorm = value;
            return this;
        }

        public Builder tiedEmbeddings(boolean value) {
            tiedEmbeddings = value;
            return this;
        }

        public Builder layers(List<LayerAttention> value) {
            layers = List.copyOf(value);
            return this;
        }

        /** {@code count} layers of softmax attention. */
        public Builder softmaxLayers(int count) {
            if (count < 0 || count > MAX_LAYERS) {
                throw new IllegalArgumentException("layer count " + count);
            }
            layers = Collections.nCopies(count, LayerAttention.softmax());
            return this;
        }

        public Builder bosTokenId(int value) {
            bosTokenId = OptionalInt.of(value);
            return this;
        }

        public Builder eosTokenId(int value) {
            eosTokenId = OptionalInt.of(value);
            return this;
        }

        public Builder gateLowRankDimension(int value) {
            gateLowRankDimension = value;
            return this;
        }

        public Builder gateLogitNormalizer(int value) {
            gateLogitNormalizer = value;
            return this;
        }

        public Builder spike(SpikeSettings value) {
            spike = Objects.requireNonNull(value);
            return this;
        }

        /** Checks the values; an impossible one is an input error naming {@code source} and the field. */
        public ModelConfig build(Path source) {
            check(source, "vocab_size", vocabularySize, MAX_VOCABULARY);
            check(source, "hidden_size", hiddenSize, MAX_DIMENSION);
            check(source, "intermediate_size", intermediateSize, MAX_DIMENSION);
            check(source, "num_attention_heads", headCount, MAX_HEADS);
            check(source, "num_key_value_heads", keyValueHeadCount, MAX_HEADS);
            check(source, "head_dim", headDimension, MAX_DIMENSION);
            check(source, "num_hidden_layers", layers.size(), MAX_LAYERS);
            if (headCount % keyValueHeadCount != 0) {
                throw InvalidInputException.forField(source, "num_key_value_heads", "a divisor of num_attention_heads " + headCount, keyValueHeadCount);
            }
            boolean usesRope = layers.stream().anyMatch(layer -> layer.kind().rotary());
            if (usesRope && headDimension % 2 != 0) {
                throw InvalidInputException.forField(source, "head_dim", "an even number (rotary embedding pairs)", headDimension);
            }
            if (!(normEpsilon > 0) || !Double.isFinite(normEpsilon)) {
                throw InvalidInputException.forField(source, "rms_norm_eps", "a positive number", normEpsilon);
            }
            if (!(ropeTheta > 0) || !Double.isFinite(ropeTheta)) {
                throw InvalidInputException.forField(source, "rope_theta", "a positive number", ropeTheta);
            }
            if (maxPositions < 0) {
                throw InvalidInputException.forField(source, "max_position_embeddings", "a non-negative integer", maxPositions);
            }
            checkTokenId(source, "bos_token_id", bosTokenId);
            checkTokenId(source, "eos_token_id", eosTokenId);
            if (layers.stream().anyMatch(layer -> layer.kind().decayGate())) {
                check(source, "gate_low_rank_dim", gateLowRankDimension, MAX_DIMENSION);
                check(source, "gate_logit_normalizer", gateLogitNormalizer, MAX_DIMENSION);
            }
            return new ModelConfig(architecture, vocabularySize, hiddenSize, intermediateSize, headCount, keyValueHeadCount, headDimension,
                    normEpsilon, ropeTheta, ropeScaling, maxPositions, qkvBias, outputProjectionBias, mlpBias, qkNorm, tiedEmbeddings,
                    new ArrayList<>(layers), bosTokenId, eosTokenId, gateLowRankDimension, gateLogitNormalizer, spike);
        }

        private void checkTokenId(Path source, String field, OptionalInt id) {
            if (id.isPresent() && (id.getAsInt() < 0 || id.getAsInt() >= vocabularySize)) {
                throw InvalidInputException.forField(source, field, "a token id below vocab_size " + vocabularySize, id.getAsInt());
            }
        }

        private static void check(Path source, String field, int value, int max) {
            if (value <= 0 || value > max) {
                throw InvalidInputException.forField(source, field, "an integer in [1, " + max + "]", value);
            }
        }
    }
}
