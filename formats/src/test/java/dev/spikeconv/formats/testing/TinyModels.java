package dev.spikeconv.formats.testing;

import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.tensor.Shape;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SplittableRandom;

/** Tiny random models of every supported family, small enough to write in every format per test. */
public final class TinyModels {
    private static final Path SOURCE = Path.of("tiny-model");

    private TinyModels() {}

    /** Llama with grouped-query attention (2 query heads per key/value head) and a separate output head. */
    public static TinyModel llama() {
        return random("llama-gqa", base(Architecture.LLAMA).keyValueHeadCount(2).build(SOURCE), 1);
    }

    /** Llama with one key/value head per query head and the output head tied to the embedding. */
    public static TinyModel llamaTied() {
        return random("llama-tied", base(Architecture.LLAMA).keyValueHeadCount(4).tiedEmbeddings(true).build(SOURCE), 2);
    }

    /** Qwen2: q/k/v biases, tied embeddings. */
    public static TinyModel qwen2() {
        return random("qwen2", base(Architecture.QWEN2).keyValueHeadCount(2).qkvBias(true).tiedEmbeddings(true)
                .ropeTheta(1_000_000).normEpsilon(1e-6).build(SOURCE), 3);
    }

    /** Qwen3: q/k RMSNorm, head dimension that is not hidden / heads. */
    public static TinyModel qwen3() {
        return random("qwen3", base(Architecture.QWEN3).keyValueHeadCount(2).headDimension(8).qkNorm(true)
                .ropeTheta(1_000_000).normEpsilon(1e-6).build(SOURCE), 4);
    }

    /** Mistral: a sliding window on every layer. */
    public static TinyModel mistral() {
        ModelConfig config = base(Architecture.MISTRAL).keyValueHeadCount(1)
                .layers(List.of(LayerAttention.slidingWindow(8, 0), LayerAttention.slidingWindow(8, 0)))
                .build(SOURCE);
        return random("mistral", config, 5);
    }

    public static List<TinyModel> all() {
        return List.of(llama(), llamaTied(), qwen2(), qwen3(), mistral());
    }

    /** The shared shape of the presets; llama2.c's fixed values (eps 1e-5, theta 10000, BOS 1, EOS 2). */
    private static ModelConfig.Builder base(Architecture architecture) {
        return ModelConfig.builder(architecture)
                .vocabularySize(40)
                .hiddenSize(16)
                .intermediateSize(24)
                .headCount(4)
                .keyValueHeadCount(4)
                .headDimension(4)
                .normEpsilon(1e-5)
                .ropeTheta(10000)
                .maxPositions(64)
                .softmaxLayers(2)
                .bosTokenId(1)
                .eosTokenId(2);
    }

    /** Gaussian weights (std 0.5); norms around 1 so they are not all equal. */
    public static TinyModel random(String name, ModelConfig config, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        SequencedMap<String, float[]> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> entry : TensorNames.expected(config).entrySet()) {
            float[] values = new float[Math.toIntExact(entry.getValue().elementCount())];
            boolean norm = entry.getKey().endsWith("norm.weight");
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (gaussian(random) * 0.5 + (norm ? 1 : 0));
            }
            tensors.put(entry.getKey(), values);
        }
        return new TinyModel(name, config, Collections.unmodifiableSequencedMap(tensors));
    }

    private static double gaussian(SplittableRandom random) {
        double u = random.nextDouble(Double.MIN_VALUE, 1);
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
