package dev.spikeconv.converter.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.GgufTestWriter;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Graphs built in memory over a model's own files against graphs written with float32 weights to a folder. */
class OnnxRuntimeExportTest {
    private static final int[] TOKENS = {1, 7, 3, 30, 12, 5, 39, 2, 18, 22, 9};

    @TempDir
    Path directory;

    /** bf16 tensors referenced and cast at load; GGUF's permuted q/k rows converted and kept inside the graph. */
    @Test
    void graphsBuiltInMemoryAnswerAsGraphsWrittenToAFolder() throws IOException {
        TinyModel tiny = TinyModels.llama();
        for (Path path : List.of(CheckpointWriters.writeSafetensors(tiny, directory.resolve("safetensors"), DType.BF16, 2),
                GgufTestWriter.model(tiny, directory.resolve("model.gguf"), DType.F32))) {
            try (ModelDescription model = CheckpointLoader.open(path)) {
                float[][] inMemory;
                float[][] inFolder;
                try (OnnxRuntimeEngine engine = OnnxRuntimeEngine.export(model, OnnxRuntimeOptions.DEFAULT); InferenceSession session = engine.newSession()) {
                    inMemory = session.forward(TOKENS);
                }
                try (OnnxRuntimeEngine engine = OnnxRuntimeEngine.exportToFolder(model, OnnxRuntimeOptions.DEFAULT, GraphOptions.STANDARD, List.of());
                        InferenceSession session = engine.newSession()) {
                    inFolder = session.forward(TOKENS);
                }
                assertThat(inMemory).as("%s", path.getFileName()).isDeepEqualTo(inFolder);
            }
        }
    }

    /** Past its limit the in-memory graph refuses, so export writes the model to a folder instead. */
    @Test
    void convertedTensorsPastTheLimitAreRefused() throws IOException {
        Path gguf = GgufTestWriter.model(TinyModels.llama(), directory.resolve("model.gguf"), DType.F32);
        try (ModelDescription model = CheckpointLoader.open(gguf)) {
            assertThatThrownBy(() -> DecoderGraphWriter.inMemory(model, directory, GraphOptions.STANDARD, 64))
                    .isInstanceOf(ExternalDataWriter.InMemoryLimitExceededException.class);
            assertThat(DecoderGraphWriter.inMemory(model, directory, GraphOptions.STANDARD, 1 << 20).getGraph().getInitializerList())
                    .anyMatch(tensor -> tensor.hasRawData() && tensor.getRawData().size() > 64);
        }
    }
}
