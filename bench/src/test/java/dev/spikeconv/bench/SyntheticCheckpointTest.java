package dev.spikeconv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spikeconv.bench.SyntheticCheckpoint.Dimensions;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticCheckpointTest {
    private static final Dimensions SMALL = new Dimensions(64, 96, 3, 4, 2, 300);

    @TempDir
    Path directory;

    @Test
    void writesALlamaCheckpointTheLoaderReads() throws IOException {
        long bytes = SyntheticCheckpoint.write(directory.resolve("model"), SMALL, DType.BF16, 1);
        assertThat(bytes).isEqualTo(2 * SMALL.parameterCount());
        try (ModelDescription model = CheckpointLoader.open(directory.resolve("model"))) {
            assertThat(model.config().hiddenSize()).isEqualTo(64);
            assertThat(model.config().layerCount()).isEqualTo(3);
            assertThat(model.config().keyValueHeadCount()).isEqualTo(2);
            assertThat(model.tensors().values().stream().mapToLong(TensorView::byteSize).sum()).isEqualTo(bytes);
            float[] weights = new float[96 * 64];
            model.tensor("model.layers.2.mlp.up_proj.weight").readFloats(0, weights, 0, weights.length);
            double sum = 0;
            double squares = 0;
            for (float weight : weights) {
                sum += weight;
                squares += weight * weight;
            }
            double mean = sum / weights.length;
            assertThat(mean).isBetween(-0.002, 0.002);
            assertThat(Math.sqrt(squares / weights.length - mean * mean)).isBetween(0.019, 0.021);
        }
    }

    @Test
    void sameSeedSameBytes() throws IOException {
        SyntheticCheckpoint.write(directory.resolve("a"), SMALL, DType.F16, 7);
        SyntheticCheckpoint.write(directory.resolve("b"), SMALL, DType.F16, 7);
        SyntheticCheckpoint.write(directory.resolve("c"), SMALL, DType.F16, 8);
        byte[] first = Files.readAllBytes(directory.resolve("a/model.safetensors"));
        assertThat(Files.readAllBytes(directory.resolve("b/model.safetensors"))).isEqualTo(first);
        assertThat(Files.readAllBytes(directory.resolve("c/model.safetensors"))).isNotEqualTo(first);
    }

    @Test
    void layersFollowTheSizeAskedFor() {
        Dimensions width = new Dimensions(256, 688, 1, 2, 2, 1000);
        long perLayer = new Dimensions(256, 688, 2, 2, 2, 1000).parameterCount() - width.parameterCount();
        for (long target : new long[] {10_000_000, 50_000_000, 200_000_000}) {
            Dimensions sized = width.withLayersForBytes(target, DType.BF16);
            assertThat(Math.abs(2 * sized.parameterCount() - target)).isLessThanOrEqualTo(perLayer);
        }
        assertThat(width.withLayersForBytes(1, DType.BF16).layers()).isEqualTo(1);
    }

    @Test
    void refusesShapesALlamaCannotHave() {
        assertThatThrownBy(() -> new Dimensions(100, 10, 1, 3, 1, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Dimensions(64, 10, 1, 4, 3, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SyntheticCheckpoint.write(directory.resolve("q"), SMALL, DType.Q8_0, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
