package dev.spikeconv.formats.tokenizer;

import dev.spikeconv.formats.gguf.GgufArray;
import dev.spikeconv.formats.gguf.GgufFile;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.llama2c.Llama2cVocabulary;
import dev.spikeconv.formats.tokenizer.SentencePieceBpeTokenizer.PieceType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Finds and reads the tokenizer that belongs to a checkpoint: {@code tokenizer.json} in a Hugging
 * Face folder, the vocabulary embedded in a GGUF file, or a llama2.c {@code tokenizer.bin} beside the
 * model; or a tokenizer file the user names.
 */
public final class TokenizerLoader {
    public static final String HUGGING_FACE = "tokenizer.json";
    /** A GGUF file holding only the {@code tokenizer.*} metadata of a GGUF source. */
    public static final String GGUF = "tokenizer.gguf";
    public static final String LLAMA2C = "tokenizer.bin";

    private TokenizerLoader() {}

    /** The tokenizer stored with the checkpoint at {@code modelPath}, if it has one. */
    public static Optional<Tokenizer> forModel(Path modelPath, int vocabularySize) throws IOException {
        if (Files.isDirectory(modelPath)) {
            // A Hugging Face folder has tokenizer.json; a spikeconv bundle may instead carry its source's vocabulary.
            if (Files.isRegularFile(modelPath.resolve(HUGGING_FACE))) {
                return Optional.of(HuggingFaceTokenizerReader.read(modelPath.resolve(HUGGING_FACE)));
            }
            if (Files.isRegularFile(modelPath.resolve(GGUF))) {
                return Optional.of(fromFile(modelPath.resolve(GGUF), vocabularySize));
            }
            if (Files.isRegularFile(modelPath.resolve(LLAMA2C))) {
                return Optional.of(fromFile(modelPath.resolve(LLAMA2C), vocabularySize));
            }
            return Optional.empty();
        }
        String name = modelPath.getFileName().toString();
        if (name.endsWith(".gguf")) {
            try (GgufFile gguf = GgufFile.open(modelPath)) {
                return Optional.of(fromGguf(gguf));
            }
        }
        if (name.endsWith(".safetensors") || name.endsWith(".json") || name.equals("pytorch_model.bin")) {
            return forModel(modelPath.toAbsolutePath().getParent(), vocabularySize);
        }
        Optional<Path> sibling = llama2cTokenizerBeside(modelPath, vocabularySize);
        return sibling.isPresent() ? Optional.of(fromLlama2c(Llama2cVocabulary.read(sibling.get(), vocabularySize))) : Optional.empty();
    }

    /** A tokenizer file named by the user: {@code tokenizer.json}, a GGUF file, or a llama2.c tokenizer.bin. */
    public static Tokenizer fromFile(Path file, int vocabularySize) throws IOException {
        String name = file.getFileName().toString();
        if (Files.isDirectory(file)) {
            return forModel(file, vocabularySize).orElseThrow(() -> InvalidInputException.forFile(file, "has no tokenizer.json"));
        }
        if (name.endsWith(".json")) {
            return HuggingFaceTokenizerReader.read(file);
        }
        if (name.endsWith(".gguf")) {
            try (GgufFile gguf = GgufFile.open(file)) {
                return fromGguf(gguf);
            }
        }
        return fromLlama2c(Llama2cVocabulary.read(file, vocabularySize));
    }

    /** llama2.c looks for tokenizer.bin; its small models ship tok{vocab}.bin. */
    private static Optional<Path> llama2cTokenizerBeside(Path model, int vocabularySize) throws IOException {
        Path directory = model.toAbsolutePath().getParent();
        for (String candidate : new String[] {"tokenizer.bin", "tok" + vocabularySize + ".bin"}) {
            if (Files.isRegularFile(directory.resolve(candidate))) {
                return Optional.of(directory.resolve(candidate));
            }
        }
        List<Path> others = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "tok*.bin")) {
            files.forEach(others::add);
        }
        return others.size() == 1 ? Optional.of(others.getFirst()) : Optional.empty();
    }

    /** llama2.c: pieces write spaces as ' '; ids 0, 1, 2 are unknown, BOS and EOS. */
    public static SentencePieceBpeTokenizer fromLlama2c(Llama2cVocabulary vocabulary) {
        OptionalInt bos = OptionalInt.of(1);
        OptionalInt eos = OptionalInt.of(2);
        List<String> pieces = new ArrayList<>();
        PieceType[] types = new PieceType[vocabulary.size()];
        for (int id = 0; id < vocabulary.size(); id++) {
            String piece = new String(vocabulary.pieces().get(id), StandardCharsets.UTF_8);
            pieces.add(piece);
            types[id] = SentencePieceBpeTokenizer.inferType(piece, id, bos, eos, OptionalInt.of(0));
        }
        return new SentencePieceBpeTokenizer(pieces, vocabulary.scores(), types, " ", bos, eos);
    }

    /** GGUF {@code tokenizer.ggml.*}: model {@code llama} (SentencePiece) or {@code gpt2} (byte-level BPE). */
    public static Tokenizer fromGguf(GgufFile gguf) {
        String model = gguf.requireString("tokenizer.ggml.model");
        String[] tokens = strings(gguf, "tokenizer.ggml.tokens");
        OptionalInt bos = gguf.optionalInt("tokenizer.ggml.bos_token_id");
        OptionalInt eos = gguf.optionalInt("tokenizer.ggml.eos_token_id");
        int[] tokenTypes = gguf.optionalArray("tokenizer.ggml.token_type").map(array -> array.values() instanceof int[] values ? values : null).orElse(null);
        if (tokenTypes != null && tokenTypes.length != tokens.length) {
            throw InvalidInputException.forField(gguf.path(), "tokenizer.ggml.token_type", tokens.length + " entries", tokenTypes.length);
        }
        return switch (model) {
            case "llama" -> {
                float[] scores = gguf.optionalArray("tokenizer.ggml.scores").map(array -> array.values() instanceof float[] values ? values : null)
                        .orElseThrow(() -> InvalidInputException.forField(gguf.path(), "tokenizer.ggml.scores", "a float32 array", "nothing"));
                if (scores.length != tokens.length) {
                    throw InvalidInputException.forField(gguf.path(), "tokenizer.ggml.scores", tokens.length + " entries", scores.length);
                }
                OptionalInt unknown = gguf.optionalInt("tokenizer.ggml.unknown_token_id");
                PieceType[] types = new PieceType[tokens.length];
                for (int id = 0; id < tokens.length; id++) {
                    // llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
                    types[id] = tokenTypes == null ? SentencePieceBpeTokenizer.inferType(tokens[id], id, bos, eos, unknown) : switch (tokenTypes[id]) {
                        case 6 -> PieceType.BYTE;
                        case 2, 3, 5 -> PieceType.CONTROL;
                        default -> PieceType.NORMAL;
                    };
                }
                yield new SentencePieceBpeTokenizer(List.of(tokens), scores, types, "\u2581", bos, eos);
            }
            case "gpt2" -> {
                Map<String, Integer> vocabulary = new HashMap<>();
                List<RankedBpeTokenizer.AddedToken> added = new ArrayList<>();
                for (int id = 0; id < tokens.length; id++) {
                    boolean control = tokenTypes != null && (tokenTypes[id] == 3 || tokenTypes[id] == 4);
                    if (control) {
                        added.add(new RankedBpeTokenizer.AddedToken(tokens[id], id, tokenTypes[id] == 3));
                    }
                    vocabulary.putIfAbsent(tokens[id], id);
                }
                List<String[]> merges = new ArrayList<>();
                for (String merge : strings(gguf, "tokenizer.ggml.merges")) {
                    String[] pair = merge.split(" ", 2);
                    if (pair.length != 2) {
                        throw InvalidInputException.forField(gguf.path(), "tokenizer.ggml.merges", "\"left right\" pairs", merge);
                    }
                    merges.add(pair);
                }
                String pre = gguf.optionalString("tokenizer.ggml.pre").orElse("default");
                String regex = switch (pre) {
                    case "llama3", "llama-v3", "llama-bpe" -> PreTokenizerPatterns.LLAMA3;
                    case "qwen2" -> PreTokenizerPatterns.QWEN2;
                    case "default", "gpt2", "gpt-2" -> PreTokenizerPatterns.GPT2;
                    default -> throw InvalidInputException.forField(gguf.path(), "tokenizer.ggml.pre", "default, gpt2, llama-bpe or qwen2", pre);
                };
                boolean addBos = gguf.has("tokenizer.ggml.add_bos_token") && Boolean.TRUE.equals(gguf.metadata().get("tokenizer.ggml.add_bos_token"));
                yield new RankedBpeTokenizer(RankedBpeTokenizer.Flavour.BYTE_LEVEL, vocabulary, merges, added,
                        PreTokenizerPatterns.compile(regex), text -> text, false, addBos ? bos : OptionalInt.empty(), eos);
            }
            default -> throw InvalidInputException.forField(gguf.path(), "tokenizer.ggml.model", "llama or gpt2", model);
        };
    }

    private static String[] strings(GgufFile gguf, String key) {
        GgufArray array = gguf.optionalArray(key).orElseThrow(() -> InvalidInputException.forField(gguf.path(), key, "a string array", "nothing"));
        if (!(array.values() instanceof String[] values)) {
            throw InvalidInputException.forField(gguf.path(), key, "a string array", array.elementType());
        }
        return values;
    }
}
