package dev.spikeconv.converter.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelInspectionTest {
    @Test
    void jsonCarriesTheContractKeys() throws IOException {
        JsonNode json = ModelInspection.inspect(TestModels.testdata("reference", "tiny-qwen3")).toJson();
        List<String> keys = new ArrayList<>();
        json.fieldNames().forEachRemaining(keys::add);
        // docs/design.md §8: outside scripts read these
        assertThat(keys).containsSubsequence("format", "architecture", "vocab_size", "hidden_size", "intermediate_size", "num_layers",
                "num_heads", "num_kv_heads", "head_dim", "rope_theta", "tie_word_embeddings", "parameters", "bytes", "layers", "tensors");
        assertThat(json.get("format").asText()).isEqualTo("safetensors");
        assertThat(json.get("architecture").asText()).isEqualTo("qwen3");
        assertThat(json.get("head_dim").asInt()).isEqualTo(8);
        assertThat(json.get("tie_word_embeddings").asBoolean()).isFalse();
        assertThat(json.get("layers").get(1).get("attention").asText()).isEqualTo("softmax");
        assertThat(json.get("layers").get(1).get("window").isNull()).isTrue();
        JsonNode firstTensor = json.get("tensors").get(0);
        assertThat(firstTensor.get("name").asText()).isEqualTo("model.embed_tokens.weight");
        assertThat(firstTensor.get("dtype").asText()).isEqualTo("F32");
        assertThat(firstTensor.get("shape").toString()).isEqualTo("[64,16]");
        long parameters = 0;
        for (JsonNode tensor : json.get("tensors")) {
            long count = 1;
            for (JsonNode dimension : tensor.get("shape")) {
                count *= dimension.asLong();
            }
            parameters += count;
        }
        assertThat(json.get("parameters").asLong()).isEqualTo(parameters);
        assertThat(json.get("bytes").asLong()).isEqualTo(parameters * 4);
    }

    @Test
    void stories260KFromGguf() throws IOException {
        ModelInspection inspection = ModelInspection.inspect(TestModels.shared("stories260K-gguf", "stories260K.gguf"));
        JsonNode json = inspection.toJson();
        assertThat(json.get("format").asText()).isEqualTo("gguf");
        assertThat(json.get("num_layers").asInt()).isEqualTo(5);
        assertThat(json.get("num_kv_heads").asInt()).isEqualTo(4);
        assertThat(json.get("tensors")).hasSize(48);
        String text = ModelInspectionText.render(inspection, "stories260K.gguf", true);
        assertThat(text).contains("format        gguf", "layers        5", "attention     0-4 softmax")
                .containsPattern("model\\.layers\\.4\\.mlp\\.down_proj\\.weight +F32 +\\[64, 172\\] +44,032");
    }

    @Test
    void attentionSummaryGroupsRunsOfEqualLayers() {
        assertThat(ModelInspectionText.attentionSummary(List.of(LayerAttention.gatedLinear(), LayerAttention.slidingWindow(4096, 0),
                LayerAttention.slidingWindow(4096, 0), LayerAttention.softmax(), LayerAttention.slidingWindow(512, 4))))
                .isEqualTo("0 gla, 1-2 swa/4096, 3 softmax, 4 swa/512+4");
        assertThat(ModelInspectionText.humanBytes(1_040_128)).isEqualTo("1015.75 KiB");
        assertThat(ModelInspectionText.humanBytes(12)).isEqualTo("12 B");
    }
}
