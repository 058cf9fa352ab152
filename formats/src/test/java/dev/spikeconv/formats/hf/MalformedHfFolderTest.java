package dev.spikeconv.formats.hf;

import static dev.spikeconv.formats.testing.InputErrors.assertInvalid;

import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MalformedHfFolderTest {
    @TempDir
    Path directory;

    private Path folder() throws IOException {
        return CheckpointWriters.writeSafetensors(TinyModels.qwen2(), directory.resolve("model"), DType.F32, 1);
    }

    private static void editConfig(Path folder, String from, String to) throws IOException {
        Path config = folder.resolve("config.json");
        String text = Files.readString(config);
        if (!text.contains(from)) {
            throw new IllegalStateException("config.json lacks " + from);
        }
        Files.writeString(config, text.replace(from, to));
    }

    @Test
    void noConfig() throws IOException {
        Path folder = folder();
        Files.delete(folder.resolve("config.json"));
        assertInvalid(() -> CheckpointLoader.open(folder), "no config.json");
    }

    @Test
    void noWeights() throws IOException {
        Path folder = folder();
        Files.delete(folder.resolve("model.safetensors"));
        assertInvalid(() -> CheckpointLoader.open(folder), "no weights", "model.safetensors");
    }

    @Test
    void unsupportedModelType() throws IOException {
        Path folder = folder();
        editConfig(folder, "\"model_type\" : \"qwen2\"", "\"model_type\" : \"phi3\"");
        assertInvalid(() -> CheckpointLoader.open(folder), "config.json", "model_type", "phi3");
    }

    @Test
    void missingField() throws IOException {
        Path folder = folder();
        editConfig(folder, "\"hidden_size\" : 16,", "");
        assertInvalid(() -> CheckpointLoader.open(folder), "config.json: hidden_size: expected a value, found nothing");
    }

    @Test
    void fieldOfTheWrongType() throws IOException {
        Path folder = folder();
        editConfig(folder, "\"hidden_size\" : 16", "\"hidden_size\" : \"sixteen\"");
        assertInvalid(() -> CheckpointLoader.open(folder), "hidden_size", "a 32-bit integer", "\"sixteen\"");
    }

    @Test
    void absurdValue() throws IOException {
        Path folder = folder();
        editConfig(folder, "\"vocab_size\" : 40", "\"vocab_size\" : 2000000000");
        assertInvalid(() -> CheckpointLoader.open(folder), "vocab_size", "[1, 16777216]");
    }

    @Test
    void keyValueHeadsThatDoNotDivideTheHeads() throws IOException {
        Path folder = folder();
        editConfig(folder, "\"num_key_value_heads\" : 2", "\"num_key_value_heads\" : 3");
        assertInvalid(() -> CheckpointLoader.open(folder), "num_key_value_heads", "a divisor of num_attention_heads 4");
    }

    @Test
    void unsupportedActivationAndRopeScaling() throws IOException {
        Path folder = folder();
        editConfig(folder, "\"hidden_act\" : \"silu\"", "\"hidden_act\" : \"gelu\"");
        assertInvalid(() -> CheckpointLoader.open(folder), "hidden_act", "gelu");
        editConfig(folder, "\"hidden_act\" : \"gelu\"", "\"hidden_act\" : \"silu\", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}");
        assertInvalid(() -> CheckpointLoader.open(folder), "rope_scaling.rope_type", "yarn");
    }

    @Test
    void malformedAndDeeplyNestedJson() throws IOException {
        Path folder = folder();
        Files.writeString(folder.resolve("config.json"), "{\"model_type\": \"qwen2\",");
        assertInvalid(() -> CheckpointLoader.open(folder), "config.json", "not valid JSON");
        Files.writeString(folder.resolve("config.json"), "{\"a\":" + "{\"b\":".repeat(3000) + "1" + "}".repeat(3001));
        assertInvalid(() -> CheckpointLoader.open(folder), "config.json", "not valid JSON");
    }

    @Test
    void tensorTheConfigRequiresIsMissing() throws IOException {
        TinyModel model = TinyModels.qwen2();
        Path folder = folder();
        editConfig(folder, "\"num_hidden_layers\" : 2", "\"num_hidden_layers\" : 3");
        assertInvalid(() -> CheckpointLoader.open(folder), "missing", "model.layers.2.input_layernorm.weight");
        editConfig(folder, "\"num_hidden_layers\" : 3", "\"num_hidden_layers\" : " + model.config().layerCount());
        CheckpointLoader.open(folder).close();
    }

    @Test
    void tensorShapeThatDisagreesWithTheConfig() throws IOException {
        Path folder = folder();
        editConfig(folder, "\"intermediate_size\" : 24", "\"intermediate_size\" : 32");
        assertInvalid(() -> CheckpointLoader.open(folder), "model.layers.0.mlp.gate_proj.weight shape", "expected [32, 16]", "found [24, 16]");
    }

    @Test
    void unrecognizedFile() throws IOException {
        Path path = Files.writeString(directory.resolve("notes.txt"), "hello, this is not a model");
        assertInvalid(() -> CheckpointLoader.open(path), "unrecognized checkpoint");
        Path empty = Files.write(directory.resolve("empty"), new byte[0]);
        assertInvalid(() -> CheckpointLoader.open(empty), "size", "at least 4 bytes");
    }
}
