package dev.spikeconv.formats;

import dev.spikeconv.formats.gguf.GgufModelLoader;
import dev.spikeconv.formats.hf.HfCheckpointLoader;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.io.MappedFile;
import dev.spikeconv.formats.llama2c.Llama2cCheckpointReader;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Opens any supported checkpoint as a {@link ModelDescription}, recognising the format from the path
 * and the first bytes: a Hugging Face folder (or a file in one), GGUF, or a llama2.c checkpoint.
 */
public final class CheckpointLoader {
    private static final int GGUF_MAGIC = 0x46554747;
    private static final int ZIP_MAGIC = 0x04034b50;

    private CheckpointLoader() {}

    public static ModelDescription open(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such file or directory");
        }
        if (Files.isDirectory(path)) {
            return HfCheckpointLoader.load(path);
        }
        String fileName = path.getFileName().toString();
        if (fileName.equals(HfCheckpointLoader.CONFIG) || fileName.endsWith(".safetensors") || fileName.endsWith(".index.json")) {
            return HfCheckpointLoader.load(parent(path));
        }
        int magic = firstInt(path);
        if (magic == GGUF_MAGIC) {
            return GgufModelLoader.load(path);
        }
        if (magic == ZIP_MAGIC) {
            if (!Files.isRegularFile(parent(path).resolve(HfCheckpointLoader.CONFIG))) {
                throw InvalidInputException.forFile(path, "a PyTorch checkpoint needs config.json in its folder to describe the model");
            }
            if (!fileName.equals(HfCheckpointLoader.PYTORCH)) {
                throw InvalidInputException.forFile(path, "pass the folder (or " + HfCheckpointLoader.PYTORCH + "), so config.json and any shards are found");
            }
            return HfCheckpointLoader.load(parent(path));
        }
        if (fileName.endsWith(".bin")) {
            return Llama2cCheckpointReader.load(path); // its errors say what the header implies
        }
        try (MappedFile file = MappedFile.open(path)) {
            if (!Llama2cCheckpointReader.isCheckpoint(file)) {
                throw InvalidInputException.forFile(path, "unrecognized checkpoint: expected a Hugging Face folder (config.json + safetensors or "
                        + "pytorch_model.bin), a GGUF file, or a llama2.c checkpoint whose header matches its size");
            }
        }
        return Llama2cCheckpointReader.load(path);
    }

    private static Path parent(Path path) {
        Path parent = path.toAbsolutePath().getParent();
        return parent == null ? path.toAbsolutePath() : parent;
    }

    private static int firstInt(Path path) throws IOException {
        try (MappedFile file = MappedFile.open(path)) {
            if (file.size() < 4) {
                throw InvalidInputException.forField(path, "size", "at least 4 bytes", file.size() + " bytes");
            }
            return file.segment().get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        }
    }
}
