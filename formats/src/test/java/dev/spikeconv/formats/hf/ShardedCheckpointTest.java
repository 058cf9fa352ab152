package dev.spikeconv.formats.hf;

import static dev.spikeconv.formats.testing.InputErrors.assertInvalid;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardedCheckpointTest {
    @TempDir
    Path directory;

    private Path sharded() throws IOException {
        return CheckpointWriters.writeSafetensors(TinyModels.llama(), directory.resolve("model"), DType.F32, 3);
    }

    /** Rewrites one weight_map entry: {@code shard == null} removes it. */
    private static void editIndex(Path folder, String tensor, String shard) throws IOException {
        Path index = folder.resolve(HfCheckpointLoader.SAFETENSORS_INDEX);
        ObjectNode json = (ObjectNode) JsonDocuments.writer().readTree(index.toFile());
        ObjectNode weightMap = (ObjectNode) json.get("weight_map");
        if (shard == null) {
            weightMap.remove(tensor);
        }
        else {
            weightMap.put(tensor, shard);
        }
        Files.writeString(index, JsonDocuments.writer().writeValueAsString(json));
    }

    @Test
    void missingShard() throws IOException {
        Path folder = sharded();
        Files.delete(folder.resolve("model-00002-of-00003.safetensors"));
        assertInvalid(() -> CheckpointLoader.open(folder), "model-00002-of-00003.safetensors", "does not exist");
    }

    @Test
    void indexListsATensorNoShardHolds() throws IOException {
        Path folder = sharded();
        editIndex(folder, "model.layers.9.mlp.up_proj.weight", "model-00001-of-00003.safetensors");
        assertInvalid(() -> CheckpointLoader.open(folder), "no shard holds", "model.layers.9.mlp.up_proj.weight");
    }

    @Test
    void shardHoldsATensorTheIndexDoesNotList() throws IOException {
        Path folder = sharded();
        editIndex(folder, "model.norm.weight", null);
        assertInvalid(() -> CheckpointLoader.open(folder), "model.norm.weight", "does not list");
    }

    @Test
    void tensorInAnotherShardThanTheIndexSays() throws IOException {
        Path folder = sharded();
        editIndex(folder, "model.norm.weight", "model-00001-of-00003.safetensors");
        assertInvalid(() -> CheckpointLoader.open(folder), "model.norm.weight", "assigns to model-00001-of-00003.safetensors");
    }

    @Test
    void shardNameThatEscapesTheFolder() throws IOException {
        Path folder = sharded();
        editIndex(folder, "model.norm.weight", "../model-00003-of-00003.safetensors");
        assertInvalid(() -> CheckpointLoader.open(folder), "weight_map.model.norm.weight", "a file name in the index's folder");
    }

    @Test
    void emptyWeightMap() throws IOException {
        Path folder = sharded();
        Files.writeString(folder.resolve(HfCheckpointLoader.SAFETENSORS_INDEX), "{\"weight_map\": {}}");
        assertInvalid(() -> CheckpointLoader.open(folder), "weight_map", "at least one tensor");
    }
}
