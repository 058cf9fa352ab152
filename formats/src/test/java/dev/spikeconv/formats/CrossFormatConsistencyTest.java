package dev.spikeconv.formats;

import static dev.spikeconv.formats.testing.ModelAssertions.assertHolds;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.CheckpointFormat;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.GgufTestWriter;
import dev.spikeconv.formats.testing.Llama2cTestWriter;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One in-memory model per family, written into every format that can hold it, must read back as the
 * same description and the same tensors, bit for bit.
 */
class CrossFormatConsistencyTest {
    @TempDir
    Path directory;

    /** How a format writes a model; each reads it back through {@link CheckpointLoader}. */
    enum Writer {
        SAFETENSORS_F32(CheckpointFormat.SAFETENSORS),
        SAFETENSORS_BF16(CheckpointFormat.SAFETENSORS),
        SAFETENSORS_SHARDED(CheckpointFormat.SAFETENSORS),
        PYTORCH_F32(CheckpointFormat.PYTORCH),
        PYTORCH_F16(CheckpointFormat.PYTORCH),
        PYTORCH_SHARDED(CheckpointFormat.PYTORCH),
        GGUF_F32(CheckpointFormat.GGUF),
        GGUF_BF16(CheckpointFormat.GGUF),
        LLAMA2C_LEGACY(CheckpointFormat.LLAMA2C),
        LLAMA2C_VERSION_1(CheckpointFormat.LLAMA2C);

        final CheckpointFormat format;

        Writer(CheckpointFormat format) {
            this.format = format;
        }

        boolean canHold(ModelConfig config) {
            return switch (format) {
                case SAFETENSORS, PYTORCH -> true;
                case GGUF -> config.architecture() != Architecture.MISTRAL;
                case LLAMA2C -> config.architecture() == Architecture.LLAMA;
            };
        }

        Path write(TinyModel model, Path directory) throws IOException {
            Path target = directory.resolve(model.name() + "-" + name().toLowerCase());
            return switch (this) {
                case SAFETENSORS_F32 -> CheckpointWriters.writeSafetensors(model, target, DType.F32, 1);
                case SAFETENSORS_BF16 -> CheckpointWriters.writeSafetensors(model, target, DType.BF16, 1);
                case SAFETENSORS_SHARDED -> CheckpointWriters.writeSafetensors(model, target, DType.F32, 3);
                case PYTORCH_F32 -> CheckpointWriters.writePytorch(model, target, DType.F32, 1);
                case PYTORCH_F16 -> CheckpointWriters.writePytorch(model, target, DType.F16, 1);
                case PYTORCH_SHARDED -> CheckpointWriters.writePytorch(model, target, DType.F32, 2);
                case GGUF_F32 -> GgufTestWriter.model(model, target.resolveSibling(target.getFileName() + ".gguf"), DType.F32);
                case GGUF_BF16 -> GgufTestWriter.model(model, target.resolveSibling(target.getFileName() + ".gguf"), DType.BF16);
                case LLAMA2C_LEGACY -> Llama2cTestWriter.write(model, target.resolveSibling(target.getFileName() + ".bin"), 0);
                case LLAMA2C_VERSION_1 -> Llama2cTestWriter.write(model, target.resolveSibling(target.getFileName() + ".bin"), 1);
            };
        }
    }

    static Stream<Arguments> modelsAndWriters() {
        List<Arguments> cases = new ArrayList<>();
        for (TinyModel model : TinyModels.all()) {
            for (Writer writer : Writer.values()) {
                if (writer.canHold(model.config())) {
                    cases.add(Arguments.of(model, writer));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} as {1}")
    @MethodSource("modelsAndWriters")
    void readsBackTheSameModel(TinyModel model, Writer writer) throws IOException {
        Path written = writer.write(model, directory);
        try (ModelDescription loaded = CheckpointLoader.open(written)) {
            assertThat(loaded.format()).isEqualTo(writer.format);
            assertThat(loaded.config()).isEqualTo(model.config());
            assertThat(loaded.unusedTensors()).isEmpty();
            assertHolds(loaded, model);
        }
    }
}
