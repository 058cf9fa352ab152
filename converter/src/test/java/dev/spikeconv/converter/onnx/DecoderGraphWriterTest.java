package dev.spikeconv.converter.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.StringStringEntryProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.onnx.proto.ValueInfoProto;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DecoderGraphWriterTest {
    @TempDir
    Path directory;

    @Test
    void externalWeightsAreAlignedAndNamedLikeTheCheckpoint() throws IOException {
        try (ModelDescription model = CheckpointLoader.open(TestModels.testdata("reference", "tiny-qwen2"))) {
            Path file = DecoderGraphWriter.write(model, directory);
            ModelProto proto;
            try (InputStream in = Files.newInputStream(file)) {
                proto = ModelProto.parseFrom(in);
            }
            long dataSize = Files.size(directory.resolve(DecoderGraphWriter.DATA_FILE));
            int external = 0;
            for (TensorProto tensor : proto.getGraph().getInitializerList()) {
                if (tensor.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
                    continue;
                }
                external++;
                Map<String, String> entries = tensor.getExternalDataList().stream()
                        .collect(Collectors.toMap(StringStringEntryProto::getKey, StringStringEntryProto::getValue));
                long offset = Long.parseLong(entries.get("offset"));
                long length = Long.parseLong(entries.get("length"));
                assertThat(entries.get("location")).isEqualTo(DecoderGraphWriter.DATA_FILE);
                assertThat(offset % 4096).as(tensor.getName()).isZero();
                assertThat(offset + length).isLessThanOrEqualTo(dataSize);
                assertThat(length).isEqualTo(4 * tensor.getDimsList().stream().mapToLong(Long::longValue).reduce(1, Math::multiplyExact));
            }
            // every canonical tensor once; the tied head reuses the embedding
            assertThat(external).isEqualTo(model.tensors().size());
            assertThat(proto.getGraph().getInitializerList().stream().map(TensorProto::getName)).contains("model.embed_tokens.weight")
                    .doesNotContain("lm_head.weight");
            assertThat(proto.getGraph().getInputList().stream().map(ValueInfoProto::getName))
                    .containsExactly("input_ids", "past_sequence_length", "past_key_values.0.key", "past_key_values.0.value",
                            "past_key_values.1.key", "past_key_values.1.value");
            assertThat(proto.getGraph().getOutputList().stream().map(ValueInfoProto::getName))
                    .containsExactly("logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value");
            assertThat(proto.getOpsetImport(0).getVersion()).isEqualTo(OnnxGraphBuilder.OPSET);
        }
    }
}
