package dev.spikeconv.formats.fuzz;

import static dev.spikeconv.formats.fuzz.FuzzFiles.refusesOnlyAsInvalidInput;
import static dev.spikeconv.formats.fuzz.FuzzFiles.touch;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.spikeconv.formats.CheckpointLoader;
import dev.spikeconv.formats.gguf.GgufFile;
import dev.spikeconv.formats.hf.HfConfig;
import dev.spikeconv.formats.hf.ShardIndex;
import dev.spikeconv.formats.llama2c.Llama2cVocabulary;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.pytorch.PytorchCheckpoint;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import dev.spikeconv.formats.tokenizer.HuggingFaceTokenizerReader;
import dev.spikeconv.formats.tokenizer.Tokenizer;
import dev.spikeconv.formats.tokenizer.TokenizerLoader;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;

/**
 * Fuzz targets for every reader of the formats module. In {@code make test} each runs over its committed
 * seeds (src/test/resources/.../ReaderFuzzTestInputs/METHOD); {@code make fuzz} fuzzes them. A reader may
 * refuse an input only with an input error; a crash, hang or any other exception is a finding.
 */
class ReaderFuzzTest {
    private static final FuzzFiles FILES = new FuzzFiles();
    private static final String TEXT = "Once upon a time, there was a little girl named Lily. 123 ünïcode ✓\n";

    @AfterAll
    static void removeFiles() {
        FILES.close();
    }

    @FuzzTest(maxDuration = "30s")
    void safetensors(byte[] input) throws IOException {
        Path file = FILES.write("model.safetensors", input);
        refusesOnlyAsInvalidInput(() -> {
            try (SafetensorsFile safetensors = SafetensorsFile.open(file)) {
                safetensors.tensors().values().forEach(FuzzFiles::touch);
            }
        });
    }

    @FuzzTest(maxDuration = "30s")
    void shardIndex(byte[] input) throws IOException {
        Path file = FILES.write("model.safetensors.index.json", input);
        refusesOnlyAsInvalidInput(() -> ShardIndex.read(file));
    }

    @FuzzTest(maxDuration = "30s")
    void huggingFaceConfig(byte[] input) throws IOException {
        Path file = FILES.write("config.json", input);
        refusesOnlyAsInvalidInput(() -> HfConfig.read(file));
    }

    @FuzzTest(maxDuration = "30s")
    void gguf(byte[] input) throws IOException {
        Path file = FILES.write("model.gguf", input);
        refusesOnlyAsInvalidInput(() -> {
            try (GgufFile gguf = GgufFile.open(file)) {
                gguf.tensors().values().forEach(FuzzFiles::touch);
                encode(TokenizerLoader.fromGguf(gguf));
            }
        });
        refusesOnlyAsInvalidInput(() -> {
            try (ModelDescription model = CheckpointLoader.open(file)) {
                model.tensors().values().forEach(FuzzFiles::touch);
            }
        });
    }

    @FuzzTest(maxDuration = "30s")
    void llama2cCheckpoint(byte[] input) throws IOException {
        Path file = FILES.write("model.bin", input);
        refusesOnlyAsInvalidInput(() -> {
            try (ModelDescription model = CheckpointLoader.open(file)) {
                for (TensorView tensor : model.tensors().values()) {
                    touch(tensor);
                }
            }
        });
    }

    @FuzzTest(maxDuration = "30s")
    void llama2cTokenizer(byte[] input) throws IOException {
        Path file = FILES.write("tokenizer.bin", input);
        refusesOnlyAsInvalidInput(() -> encode(TokenizerLoader.fromLlama2c(Llama2cVocabulary.read(file, 512))));
    }

    @FuzzTest(maxDuration = "30s")
    void pytorchCheckpoint(byte[] input) throws IOException {
        Path file = FILES.write("pytorch_model.bin", input);
        refusesOnlyAsInvalidInput(() -> {
            try (PytorchCheckpoint checkpoint = PytorchCheckpoint.open(file)) {
                for (StoredTensor tensor : checkpoint.tensors().values()) {
                    touch(tensor);
                }
            }
        });
    }

    @FuzzTest(maxDuration = "30s")
    void huggingFaceTokenizer(byte[] input) throws IOException {
        Path file = FILES.write("tokenizer.json", input);
        refusesOnlyAsInvalidInput(() -> encode(HuggingFaceTokenizerReader.read(file)));
    }

    /** A tokenizer that loaded must encode and decode any text, or refuse the text as invalid input. */
    private static void encode(Tokenizer tokenizer) {
        int[] ids = tokenizer.encode(TEXT, true);
        tokenizer.decode(ids);
    }
}
