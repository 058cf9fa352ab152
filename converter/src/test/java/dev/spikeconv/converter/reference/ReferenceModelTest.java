package dev.spikeconv.converter.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.numpy.NpyFile;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.StreamSupport;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The reference forward pass against transformers' float32 logits for the same weights and tokens. */
class ReferenceModelTest {
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2", "tiny-qwen3"})
    void matchesTransformers(String name) throws IOException {
        Path folder = TestModels.testdata("reference", name);
        JsonNode tokenList = JsonDocuments.read(folder.resolve("tokens.json"), 1 << 16);
        int[] tokens = StreamSupport.stream(tokenList.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
        float[][] expected = NpyFile.readFloat32(folder.resolve("logits.npy"));
        try (ModelDescription model = CheckpointLoader.open(folder);
                ReferenceModel engine = ReferenceModel.load(model);
                InferenceSession session = engine.newSession()) {
            float[][] logits = session.forward(tokens);
            assertThat(logits.length).isEqualTo(expected.length);
            for (int t = 0; t < logits.length; t++) {
                for (int v = 0; v < logits[t].length; v++) {
                    assertThat(logits[t][v]).as("%s position %d token %d", name, t, v).isCloseTo(expected[t][v], within(2e-5f));
                }
            }
        }
    }

    /** The attention branch alone is exactly the one {@code runLayer} computes, and leaves the stream as it was. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen3"})
    void attentionAloneIsTheLayersAttention(String name) throws IOException {
        Path folder = TestModels.testdata("reference", name);
        JsonNode tokenList = JsonDocuments.read(folder.resolve("tokens.json"), 1 << 16);
        int[] tokens = StreamSupport.stream(tokenList.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
        try (ModelDescription model = CheckpointLoader.open(folder); ReferenceModel engine = ReferenceModel.load(model)) {
            float[] stream = engine.embed(tokens);
            for (int layer = 0; layer < model.config().layerCount(); layer++) {
                float[] before = stream.clone();
                ReferenceModel.LayerStep attention = engine.runAttention(layer, stream, tokens.length);
                assertThat(stream).containsExactly(before);
                assertThat(attention.mlpOutput()).isNull();
                ReferenceModel.LayerStep whole = engine.runLayer(layer, stream, tokens.length);
                assertThat(attention.attentionInput()).containsExactly(whole.attentionInput());
                assertThat(attention.attentionHeads()).containsExactly(whole.attentionHeads());
                assertThat(attention.attentionOutput()).containsExactly(whole.attentionOutput());
            }
        }
    }
}
