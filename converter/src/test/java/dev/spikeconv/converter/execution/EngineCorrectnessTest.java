package dev.spikeconv.converter.execution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.numpy.NpyFile;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.GgufTestWriter;
import dev.spikeconv.formats.testing.Llama2cTestWriter;
import dev.spikeconv.formats.testing.TestModels;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Both engines against independent references, against each other, and cached decode against recompute. */
class EngineCorrectnessTest {
    private static final int[] STORIES_GREEDY = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337};
    private static final int[] STORIES_TOP_IDS = {403, 385, 410, 317, 407};
    private static final float[] STORIES_TOP_LOGITS = {17.024f, 15.406f, 13.108f, 12.769f, 12.418f};

    @TempDir
    Path directory;

    static Stream<Arguments> transformersModels() {
        List<Arguments> cases = new ArrayList<>();
        for (String name : new String[] {"tiny-llama", "tiny-qwen2", "tiny-qwen3"}) {
            for (EngineKind kind : EngineKind.values()) {
                cases.add(Arguments.of(name, kind));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("transformersModels")
    void matchesTransformersLogits(String name, EngineKind kind) throws IOException {
        Path folder = TestModels.testdata("reference", name);
        JsonNode tokenList = JsonDocuments.read(folder.resolve("tokens.json"), 1 << 16);
        int[] tokens = StreamSupport.stream(tokenList.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
        float[][] expected = NpyFile.readFloat32(folder.resolve("logits.npy"));
        try (ModelDescription model = CheckpointLoader.open(folder)) {
            assertClose(EngineRuns.logits(model, kind, tokens), expected, 5e-5f, name + " on " + kind);
        }
    }

    static Stream<Arguments> storiesFormatsAndEngines() {
        List<Arguments> cases = new ArrayList<>();
        for (String format : new String[] {"llama2c", "gguf", "hf"}) {
            for (EngineKind kind : EngineKind.values()) {
                cases.add(Arguments.of(format, kind));
            }
        }
        return cases.stream();
    }

    private static Path stories(String format) {
        return switch (format) {
            case "llama2c" -> TestModels.stories260K();
            case "gguf" -> TestModels.shared("stories260K-gguf", "stories260K.gguf");
            default -> TestModels.shared("stories260K-hf-derived");
        };
    }

    @ParameterizedTest(name = "stories260K {0} on {1}")
    @MethodSource("storiesFormatsAndEngines")
    void stories260KReproducesItsPublishedGreedyOutput(String format, EngineKind kind) throws IOException {
        try (ModelDescription model = CheckpointLoader.open(stories(format));
                InferenceEngine engine = EngineRuns.open(model, kind);
                InferenceSession session = engine.newSession()) {
            float[] logits = session.forward(new int[] {1})[0];
            for (int i = 0; i < STORIES_TOP_IDS.length; i++) {
                assertThat(logits[STORIES_TOP_IDS[i]]).as("logit of %d after BOS", STORIES_TOP_IDS[i]).isCloseTo(STORIES_TOP_LOGITS[i], within(1e-3f));
            }
            assertThat(topIndices(logits, 5)).containsExactly(STORIES_TOP_IDS);
            int[] generated = new int[STORIES_GREEDY.length];
            for (int i = 0; i < generated.length; i++) {
                generated[i] = argmax(logits);
                logits = session.forward(new int[] {generated[i]})[0];
            }
            assertThat(generated).containsExactly(STORIES_GREEDY);
        }
    }

    static Stream<Arguments> tinyModelsOnEveryFormat() {
        List<Arguments> cases = new ArrayList<>();
        for (TinyModel model : TinyModels.all()) {
            for (EngineKind kind : EngineKind.values()) {
                cases.add(Arguments.of(model, kind));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("tinyModelsOnEveryFormat")
    void everyFormatGivesTheSameLogits(TinyModel tiny, EngineKind kind) throws IOException {
        int[] tokens = {1, 7, 3, 30, 12, 5, 39, 2, 18, 22, 9};
        List<Path> written = new ArrayList<>();
        written.add(CheckpointWriters.writeSafetensors(tiny, directory.resolve("safetensors"), DType.F32, 1));
        written.add(CheckpointWriters.writePytorch(tiny, directory.resolve("pytorch"), DType.F32, 2));
        switch (tiny.config().architecture()) {
            case LLAMA -> {
                written.add(GgufTestWriter.model(tiny, directory.resolve("model.gguf"), DType.F32));
                written.add(Llama2cTestWriter.write(tiny, directory.resolve("model.bin"), 0));
            }
            case QWEN2, QWEN3 -> written.add(GgufTestWriter.model(tiny, directory.resolve("model.gguf"), DType.F32));
            case MISTRAL, GLA_SWA -> { }
        }
        float[][] first = null;
        for (Path path : written) {
            try (ModelDescription model = CheckpointLoader.open(path)) {
                float[][] logits = EngineRuns.logits(model, kind, tokens);
                if (first == null) {
                    first = logits;
                }
                else {
                    assertClose(logits, first, 0f, tiny + " from " + path.getFileName());
                }
            }
        }
        try (ModelDescription model = CheckpointLoader.open(written.getFirst())) {
            EngineKind other = kind == EngineKind.ONNX ? EngineKind.JAVA : EngineKind.ONNX;
            assertClose(EngineRuns.logits(model, other, tokens), first, 2e-5f, tiny + ": " + kind + " vs " + other);
        }
    }

    @ParameterizedTest
    @EnumSource(EngineKind.class)
    void cachedDecodeEqualsFullRecompute(EngineKind kind) throws IOException {
        TinyModel tiny = TinyModels.mistral(); // sliding window of 8: the cache must also respect it
        int[] tokens = {1, 4, 9, 16, 25, 36, 8, 19, 32, 7, 20, 35, 11, 28, 5, 14};
        try (ModelDescription model = CheckpointLoader.open(CheckpointWriters.writeSafetensors(tiny, directory.resolve("m"), DType.F32, 1));
                InferenceEngine engine = EngineRuns.open(model, kind)) {
            float[][] full;
            try (InferenceSession session = engine.newSession()) {
                full = session.forward(tokens);
            }
            try (InferenceSession session = engine.newSession()) {
                List<float[]> stepwise = new ArrayList<>(Arrays.asList(session.forward(Arrays.copyOf(tokens, 5))));
                for (int i = 5; i < tokens.length; i += 3) {
                    stepwise.addAll(Arrays.asList(session.forward(Arrays.copyOfRange(tokens, i, Math.min(tokens.length, i + 3)))));
                }
                assertThat(session.position()).isEqualTo(tokens.length);
                assertClose(stepwise.toArray(float[][]::new), full, 1e-5f, "cached decode on " + kind);
            }
        }
    }

    private static void assertClose(float[][] actual, float[][] expected, float tolerance, String what) {
        assertThat(actual.length).as(what).isEqualTo(expected.length);
        for (int t = 0; t < actual.length; t++) {
            assertThat(actual[t].length).isEqualTo(expected[t].length);
            for (int v = 0; v < actual[t].length; v++) {
                if (Math.abs(actual[t][v] - expected[t][v]) > tolerance) {
                    throw new AssertionError(what + ": position " + t + " token " + v + ": expected " + expected[t][v] + " but was " + actual[t][v]);
                }
            }
        }
    }

    static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    private static int[] topIndices(float[] values, int count) {
        return java.util.stream.IntStream.range(0, values.length).boxed()
                .sorted((a, b) -> Float.compare(values[b], values[a])).limit(count).mapToInt(Integer::intValue).toArray();
    }
}
