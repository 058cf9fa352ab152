package dev.spikeconv.formats;

import static dev.spikeconv.formats.testing.ModelAssertions.assertBitsEqual;
import static dev.spikeconv.formats.testing.ModelAssertions.assertSameTensors;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.gguf.GgufFile;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.CheckpointFormat;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.TensorView;
import dev.spikeconv.formats.testing.TensorBytes;
import dev.spikeconv.formats.testing.TestModels;
import java.io.IOException;
import java.util.Arrays;
import java.util.Collections;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Files written by the real libraries (torch.save, transformers' save_pretrained, gguf-py; see
 * testdata/generate_reference_fixtures.py) read as the libraries meant them.
 */
class ReferenceFixturesTest {
    @Test
    void torchSaveAndSafetensorsOfOneModelAgree() throws IOException {
        try (ModelDescription safetensors = CheckpointLoader.open(TestModels.testdata("reference", "tiny-qwen2"));
                ModelDescription pytorch = CheckpointLoader.open(TestModels.testdata("reference", "tiny-qwen2-pytorch"))) {
            assertThat(safetensors.format()).isEqualTo(CheckpointFormat.SAFETENSORS);
            assertThat(pytorch.format()).isEqualTo(CheckpointFormat.PYTORCH);
            assertThat(pytorch.config()).isEqualTo(safetensors.config());
            assertSameTensors(pytorch, safetensors);
            // torch.save keeps the tied head as a second view of the embedding storage
            assertThat(pytorch.unusedTensors()).isEmpty();
        }
    }

    @Test
    void transformersFiveConfigOfQwen2() throws IOException {
        try (ModelDescription model = CheckpointLoader.open(TestModels.testdata("reference", "tiny-qwen2"))) {
            ModelConfig config = model.config();
            assertThat(config.architecture()).isEqualTo(Architecture.QWEN2);
            assertThat(config.qkvBias()).isTrue();
            assertThat(config.outputProjectionBias()).isFalse();
            assertThat(config.tiedEmbeddings()).isTrue();
            assertThat(config.ropeTheta()).isEqualTo(10000.0); // from rope_parameters
            assertThat(config.normEpsilon()).isEqualTo(1e-6);
            assertThat(config.layers()).isEqualTo(Collections.nCopies(2, LayerAttention.softmax()));
            assertThat(config.keyValueHeadCount()).isEqualTo(2);
        }
    }

    @Test
    void qwen3HasQueryKeyNormAndItsOwnHeadDimension() throws IOException {
        try (ModelDescription model = CheckpointLoader.open(TestModels.testdata("reference", "tiny-qwen3"))) {
            ModelConfig config = model.config();
            assertThat(config.architecture()).isEqualTo(Architecture.QWEN3);
            assertThat(config.qkNorm()).isTrue();
            assertThat(config.headDimension()).isEqualTo(8);
            assertThat(config.hiddenSize() / config.headCount()).isEqualTo(4);
            assertThat(config.tiedEmbeddings()).isFalse();
            assertThat(model.tensor("model.layers.1.self_attn.q_norm.weight").shape().dimensions()).containsExactly(8);
            assertThat(model.tensor("model.layers.0.self_attn.q_proj.weight").shape().dimensions()).containsExactly(32, 16);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama-sharded", "tiny-llama-pytorch-sharded"})
    void shardedCheckpointsEqualTheSingleFile(String folder) throws IOException {
        try (ModelDescription single = CheckpointLoader.open(TestModels.testdata("reference", "tiny-llama"));
                ModelDescription sharded = CheckpointLoader.open(TestModels.testdata("reference", folder))) {
            assertThat(sharded.files()).hasSizeGreaterThan(2);
            assertThat(sharded.config()).isEqualTo(single.config());
            assertSameTensors(sharded, single);
        }
    }

    @Test
    void bfloat16MatchesTorchRoundingOfTheFloat32Weights() throws IOException {
        try (ModelDescription float32 = CheckpointLoader.open(TestModels.testdata("reference", "tiny-llama"));
                ModelDescription safetensors = CheckpointLoader.open(TestModels.testdata("reference", "tiny-llama-bf16"));
                ModelDescription pytorch = CheckpointLoader.open(TestModels.testdata("reference", "tiny-llama-bf16-pytorch"))) {
            assertSameTensors(pytorch, safetensors);
            for (String name : float32.tensors().keySet()) {
                TensorView bfloat16 = safetensors.tensor(name);
                assertThat(bfloat16.dtype()).isEqualTo(DType.BF16);
                assertBitsEqual(bfloat16.toFloats(), TensorBytes.rounded(float32.tensor(name).toFloats(), DType.BF16), name);
            }
            assertThat(safetensors.tensor(TensorNames.LM_HEAD).byteSize()).isEqualTo(64 * 16 * 2);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void dequantizesLikeGgufPy(String type) throws IOException {
        try (GgufFile gguf = GgufFile.open(TestModels.testdata("reference", "quantized-blocks.gguf"))) {
            TensorView quantized = gguf.tensors().get(type + ".quantized");
            TensorView expected = gguf.tensors().get(type + ".expected");
            assertThat(quantized.dtype()).isEqualTo(DType.valueOf(type));
            assertThat(quantized.shape()).isEqualTo(expected.shape());
            float[] actualValues = quantized.toFloats();
            assertBitsEqual(actualValues, expected.toFloats(), type);
            // Reading a range that starts and ends inside blocks gives the same values.
            float[] middle = new float[300];
            quantized.readFloats(17, middle, 0, middle.length);
            assertBitsEqual(middle, Arrays.copyOfRange(actualValues, 17, 317), type + " partial read");
        }
    }
}
