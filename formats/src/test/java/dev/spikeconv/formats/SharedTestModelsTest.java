package dev.spikeconv.formats;

import static dev.spikeconv.formats.testing.ModelAssertions.assertSameTensors;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.gguf.GgufArray;
import dev.spikeconv.formats.gguf.GgufFile;
import dev.spikeconv.formats.llama2c.Llama2cVocabulary;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.CheckpointFormat;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import org.junit.jupiter.api.Test;

/** The third-party checkpoints in ../shared/testmodels, against the facts their SOURCE.md records. */
class SharedTestModelsTest {
    private static Path llama2c() {
        return TestModels.shared("stories260K-llama2c", "stories260K.bin");
    }

    private static Path gguf() {
        return TestModels.shared("stories260K-gguf", "stories260K.gguf");
    }

    private static Path huggingFace() {
        return TestModels.shared("stories260K-hf-derived");
    }

    @Test
    void stories260KHyperParametersFromEveryFormat() throws IOException {
        for (Path path : new Path[] {llama2c(), gguf(), huggingFace()}) {
            try (ModelDescription model = CheckpointLoader.open(path)) {
                ModelConfig config = model.config();
                assertThat(config.architecture()).as(path.toString()).isEqualTo(Architecture.LLAMA);
                assertThat(config.hiddenSize()).isEqualTo(64);
                assertThat(config.intermediateSize()).isEqualTo(172);
                assertThat(config.layerCount()).isEqualTo(5);
                assertThat(config.headCount()).isEqualTo(8);
                assertThat(config.keyValueHeadCount()).isEqualTo(4);
                assertThat(config.headDimension()).isEqualTo(8);
                assertThat(config.vocabularySize()).isEqualTo(512);
                assertThat(config.normEpsilon()).isEqualTo(1e-5);
                assertThat(config.ropeTheta()).isEqualTo(10000.0);
                assertThat(config.layers()).isEqualTo(Collections.nCopies(5, LayerAttention.softmax()));
                assertThat(model.unusedTensors()).isEmpty();
            }
        }
    }

    @Test
    void stories260KFormatsAgreeTensorByTensor() throws IOException {
        try (ModelDescription fromLlama2c = CheckpointLoader.open(llama2c());
                ModelDescription fromGguf = CheckpointLoader.open(gguf());
                ModelDescription fromHuggingFace = CheckpointLoader.open(huggingFace())) {
            assertThat(fromLlama2c.format()).isEqualTo(CheckpointFormat.LLAMA2C);
            assertThat(fromGguf.format()).isEqualTo(CheckpointFormat.GGUF);
            assertThat(fromHuggingFace.format()).isEqualTo(CheckpointFormat.SAFETENSORS);
            // 260,032 trainable parameters with the classifier tied (SOURCE.md); the GGUF stores an explicit copy.
            assertThat(fromLlama2c.parameterCount()).isEqualTo(260_032);
            assertThat(fromHuggingFace.parameterCount()).isEqualTo(260_032);
            assertThat(fromGguf.parameterCount()).isEqualTo(260_032 + 512 * 64);
            // The HF copy's q/k rows were permuted by transformers' conversion; ours undo llama2.c's and GGUF's order.
            assertSameTensors(fromGguf, fromLlama2c);
            assertSameTensors(fromHuggingFace, fromLlama2c);
        }
    }

    @Test
    void stories260KTokenizerHasItsDocumentedPieces() throws IOException {
        Llama2cVocabulary vocabulary = Llama2cVocabulary.read(TestModels.shared("stories260K-llama2c", "tok512.bin"), 512);
        assertThat(vocabulary.maxTokenLength()).isEqualTo(7);
        assertThat(new String(vocabulary.pieces().get(1), StandardCharsets.UTF_8)).isEqualTo("\n<s>\n");
        assertThat(new String(vocabulary.pieces().get(3), StandardCharsets.UTF_8)).isEqualTo("<0x00>");
        assertThat(new String(vocabulary.pieces().get(259), StandardCharsets.UTF_8)).isEqualTo(" t");
        assertThat(new String(vocabulary.pieces().get(261), StandardCharsets.UTF_8)).isEqualTo(" a");
        assertThat(vocabulary.scores()[259]).isEqualTo(0f);
        assertThat(vocabulary.scores()[260]).isEqualTo(-1f);
    }

    @Test
    void tinyRandomLlama2GgufWithHalfPrecisionAndFullVocabulary() throws IOException {
        Path path = TestModels.shared("llama2-tiny-random-gguf", "llama-2-tiny-random.gguf");
        try (ModelDescription model = CheckpointLoader.open(path)) {
            ModelConfig config = model.config();
            assertThat(config.vocabularySize()).isEqualTo(32000);
            assertThat(config.hiddenSize()).isEqualTo(8);
            assertThat(config.layerCount()).isEqualTo(1);
            assertThat(config.headCount()).isEqualTo(2);
            assertThat(config.keyValueHeadCount()).isEqualTo(2);
            assertThat(config.intermediateSize()).isEqualTo(32);
            assertThat(config.tiedEmbeddings()).isFalse();
            assertThat(config.maxPositions()).isEqualTo(4096);
            assertThat(config.bosTokenId()).hasValue(1);
            assertThat(config.eosTokenId()).hasValue(2);
            assertThat(model.tensor(TensorNames.EMBEDDING).dtype()).isEqualTo(DType.F16);
            assertThat(model.tensor(TensorNames.FINAL_NORM).dtype()).isEqualTo(DType.F32);
            float[] embedding = model.tensor(TensorNames.EMBEDDING).toFloats();
            assertThat(embedding).hasSize(32000 * 8);
            for (float value : embedding) {
                assertThat(Float.isFinite(value)).isTrue();
            }
        }
        try (GgufFile gguf = GgufFile.open(path)) {
            assertThat(gguf.version()).isEqualTo(3);
            assertThat(gguf.metadata()).hasSize(18);
            assertThat(gguf.tensors()).hasSize(12);
            GgufArray tokens = gguf.optionalArray("tokenizer.ggml.tokens").orElseThrow();
            assertThat(tokens.length()).isEqualTo(32000);
            assertThat(((String[]) tokens.values())[1]).isEqualTo("<s>");
        }
    }
}
