package dev.spikeconv.converter.bundle;

import dev.spikeconv.formats.gguf.GgufFile;
import dev.spikeconv.formats.gguf.GgufMetadataWriter;
import dev.spikeconv.formats.tokenizer.TokenizerLoader;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Puts the source's tokenizer into the bundle: the tokenizer files of a Hugging Face folder (or of a
 * bundle), the {@code tokenizer.*} metadata of a GGUF file as {@code tokenizer.gguf}, or the llama2.c
 * {@code tokenizer.bin} found beside the checkpoint.
 */
final class TokenizerExport {
    private static final List<String> HUGGING_FACE_FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "tokenizer.model", "vocab.json", "merges.txt", "generation_config.json", TokenizerLoader.GGUF, TokenizerLoader.LLAMA2C);

    private TokenizerExport() {}

    static void copy(Path source, Path bundle, ConversionProgress progress) throws IOException {
        Path absolute = source.toAbsolutePath();
        String name = absolute.getFileName().toString();
        boolean copied;
        if (Files.isDirectory(absolute)) {
            copied = copyFolderFiles(absolute, bundle);
        }
        else if (name.endsWith(".gguf")) {
            copied = copyGgufTokenizer(absolute, bundle);
        }
        else if (name.endsWith(".safetensors") || name.endsWith(".json") || name.equals("pytorch_model.bin")) {
            copied = copyFolderFiles(absolute.getParent(), bundle);
        }
        else {
            copied = copyLlama2cTokenizer(absolute, bundle);
        }
        if (!copied) {
            progress.warning("no tokenizer found with " + source + "; run and generate on the bundle will need a tokenizer file");
        }
    }

    private static boolean copyFolderFiles(Path folder, Path bundle) throws IOException {
        boolean any = false;
        for (String file : HUGGING_FACE_FILES) {
            if (Files.isRegularFile(folder.resolve(file))) {
                copyFile(folder.resolve(file), bundle.resolve(file));
                any |= !file.equals("generation_config.json") && !file.equals("tokenizer_config.json") && !file.equals("special_tokens_map.json");
            }
        }
        return any;
    }

    private static boolean copyGgufTokenizer(Path file, Path bundle) throws IOException {
        try (GgufFile gguf = GgufFile.open(file)) {
            Map<String, Object> tokenizer = new LinkedHashMap<>();
            gguf.metadata().forEach((key, value) -> {
                if (key.startsWith("tokenizer.")) {
                    tokenizer.put(key, value);
                }
            });
            if (!tokenizer.containsKey("tokenizer.ggml.model")) {
                return false;
            }
            GgufMetadataWriter.write(bundle.resolve(TokenizerLoader.GGUF), tokenizer);
            return true;
        }
    }

    /** llama2.c reads tokenizer.bin; its small models ship tok{vocab}.bin. */
    private static boolean copyLlama2cTokenizer(Path model, Path bundle) throws IOException {
        Path folder = model.getParent();
        List<Path> candidates = new ArrayList<>();
        if (Files.isRegularFile(folder.resolve(TokenizerLoader.LLAMA2C))) {
            candidates.add(folder.resolve(TokenizerLoader.LLAMA2C));
        }
        else {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(folder, "tok*.bin")) {
                files.forEach(candidates::add);
            }
        }
        if (candidates.size() != 1) {
            return false;
        }
        copyFile(candidates.getFirst(), bundle.resolve(TokenizerLoader.LLAMA2C));
        return true;
    }

    /** A copy the user owns: writable whatever the source's permissions. */
    private static void copyFile(Path from, Path to) throws IOException {
        Files.copy(from, to);
        if (Files.getFileStore(to).supportsFileAttributeView("posix")) {
            Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }
}
