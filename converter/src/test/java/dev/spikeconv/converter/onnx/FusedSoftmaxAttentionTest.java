package dev.spikeconv.converter.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.NodeProto;
import dev.spikeconv.formats.onnx.proto.OperatorSetIdProto;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dense graph with ONNX Runtime's fused GroupQueryAttention gives the logits of the standard-operator graph: in
 * one prefill, and fed in pieces so the operator appends to a cache both several tokens at a time and one at a time.
 */
class FusedSoftmaxAttentionTest {
    private static final int[] TOKENS = new SplittableRandom(23).ints(90, 0, 40).toArray();

    @TempDir
    Path directory;

    @Test
    void fusedAttentionGivesTheLogitsOfTheStandardGraph() throws IOException {
        for (TinyModel model : List.of(llama(8), TinyModels.qwen3(), TinyModels.llama())) {
            Path source = CheckpointWriters.writeSafetensors(model, directory.resolve(model.name()), DType.F32, 1);
            try (ModelDescription description = CheckpointLoader.open(source)) {
                float[][] standard = logits(description, GraphOptions.STANDARD, TOKENS.length);
                GraphOptions fused = GraphOptions.STANDARD.withFusedSoftmaxAttention();
                for (int step : new int[] {TOKENS.length, 7, 1}) {
                    float[][] fusedLogits = logits(description, fused, step);
                    for (int token = 0; token < TOKENS.length; token++) {
                        for (int entry = 0; entry < standard[token].length; entry++) {
                            assertThat(fusedLogits[token][entry]).as("%s, steps of %d, token %d", model.name(), step, token)
                                    .isCloseTo(standard[token][entry], org.assertj.core.data.Offset.offset(1e-4f));
                        }
                    }
                }
            }
        }
    }

    /** The bench's dense baseline prefills with the fused kernel and decodes with the standard graph: the cache carries over. */
    @Test
    void aSequencePrefilledByTheFusedGraphContinuesInTheStandardOne() throws IOException {
        Path source = CheckpointWriters.writeSafetensors(llama(8), directory.resolve("llama"), DType.F32, 1);
        try (ModelDescription description = CheckpointLoader.open(source)) {
            float[][] standard = logits(description, GraphOptions.STANDARD, TOKENS.length);
            int prefilled = 60;
            try (OnnxRuntimeEngine fused = OnnxRuntimeEngine.export(description, OnnxRuntimeOptions.DEFAULT, GraphOptions.STANDARD.withFusedSoftmaxAttention(), List.of());
                    OnnxRuntimeEngine plain = OnnxRuntimeEngine.export(description, OnnxRuntimeOptions.DEFAULT);
                    OnnxRuntimeEngine.RuntimeSession prefill = fused.newSession()) {
                prefill.forward(Arrays.copyOf(TOKENS, prefilled));
                try (OnnxRuntimeEngine.RuntimeSession decode = prefill.continueIn(plain)) {
                    assertThat(decode.position()).isEqualTo(prefilled);
                    assertThat(prefill.position()).isZero();
                    for (int token = prefilled; token < TOKENS.length; token++) {
                        float[] logits = decode.forward(new int[] {TOKENS[token]})[0];
                        for (int entry = 0; entry < logits.length; entry++) {
                            assertThat(logits[entry]).as("token %d", token).isCloseTo(standard[token][entry], org.assertj.core.data.Offset.offset(1e-4f));
                        }
                    }
                }
            }
            Path other = CheckpointWriters.writeSafetensors(TinyModels.llama(), directory.resolve("d4"), DType.F32, 1);
            try (ModelDescription otherModel = CheckpointLoader.open(other);
                    OnnxRuntimeEngine fused = OnnxRuntimeEngine.export(description, OnnxRuntimeOptions.DEFAULT, GraphOptions.STANDARD.withFusedSoftmaxAttention(), List.of());
                    OnnxRuntimeEngine otherEngine = OnnxRuntimeEngine.export(otherModel, OnnxRuntimeOptions.DEFAULT);
                    OnnxRuntimeEngine.RuntimeSession session = fused.newSession()) {
                session.forward(Arrays.copyOf(TOKENS, 5));
                assertThatThrownBy(() -> session.continueIn(otherEngine)).isInstanceOf(IllegalArgumentException.class);
                assertThat(session.position()).as("the session is left as it was").isEqualTo(5);
            }
        }
    }

    @Test
    void onlyTheFusedGraphUsesOnnxRuntimeOperators() throws IOException {
        try (ModelDescription description = CheckpointLoader.open(CheckpointWriters.writeSafetensors(TinyModels.llama(), directory.resolve("d4"), DType.F32, 1))) {
            ModelProto fallback = proto(description, GraphOptions.STANDARD.withFusedSoftmaxAttention(), directory.resolve("fallback"));
            assertThat(fallback.getOpsetImportList()).as("head dimension 4").extracting(OperatorSetIdProto::getDomain).containsExactly("");
        }
        Path source = CheckpointWriters.writeSafetensors(llama(8), directory.resolve("llama"), DType.F32, 1);
        try (ModelDescription description = CheckpointLoader.open(source)) {
            ModelProto standard = proto(description, GraphOptions.STANDARD, directory.resolve("standard"));
            ModelProto fused = proto(description, GraphOptions.STANDARD.withFusedSoftmaxAttention(), directory.resolve("fused"));
            assertThat(standard.getOpsetImportList()).extracting(OperatorSetIdProto::getDomain).containsExactly("");
            assertThat(fused.getOpsetImportList()).extracting(OperatorSetIdProto::getDomain).containsExactly("", OnnxGraphBuilder.MICROSOFT_DOMAIN);
            assertThat(fused.getGraph().getNodeList().stream().filter(node -> node.getOpType().equals("GroupQueryAttention")).map(NodeProto::getDomain))
                    .hasSize(description.config().layerCount()).containsOnly(OnnxGraphBuilder.MICROSOFT_DOMAIN);
            assertThat(fused.getGraph().getNodeList()).extracting(NodeProto::getOpType).doesNotContain("Softmax");
        }
    }

    /** The tiny grouped-query Llama with another head dimension (the fused kernel needs multiples of 8; 4 falls back). */
    private static TinyModel llama(int headDimension) {
        return TinyModels.random("llama-d" + headDimension, TinyModels.llama().config().toBuilder().headDimension(headDimension).build(Path.of("llama")), 7);
    }

    private static float[][] logits(ModelDescription model, GraphOptions graphOptions, int step) throws IOException {
        try (OnnxRuntimeEngine engine = OnnxRuntimeEngine.export(model, OnnxRuntimeOptions.DEFAULT, graphOptions, List.of());
                OnnxRuntimeEngine.RuntimeSession session = engine.newSession()) {
            float[][] all = new float[TOKENS.length][];
            for (int start = 0; start < TOKENS.length; start += step) {
                float[][] part = session.forward(Arrays.copyOfRange(TOKENS, start, Math.min(TOKENS.length, start + step)));
                System.arraycopy(part, 0, all, start, part.length);
            }
            return all;
        }
    }

    private static ModelProto proto(ModelDescription model, GraphOptions options, Path folder) throws IOException {
        Path file = DecoderGraphWriter.write(model, Files.createDirectories(folder), options);
        try (InputStream in = Files.newInputStream(file)) {
            return ModelProto.parseFrom(in);
        }
    }
}
