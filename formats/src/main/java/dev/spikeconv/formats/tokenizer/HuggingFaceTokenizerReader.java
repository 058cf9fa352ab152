package dev.spikeconv.formats.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.json.JsonDocuments;
import dev.spikeconv.formats.json.JsonFields;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * Reads a Hugging Face {@code tokenizer.json} with a BPE model: byte-level (GPT-2, Llama 3, Qwen) or
 * metaspace with byte fallback (Llama 2). The parts of the pipeline spikeconv does not reproduce
 * exactly (other models, normalizers or pre-tokenizers) are refused by name.
 */
public final class HuggingFaceTokenizerReader {
    static final long MAX_TOKENIZER_BYTES = 256L << 20;
    /** Vocabularies in use stay below a million tokens; 2^24 leaves room and keeps the id table at most 64 MiB of references. */
    static final int MAX_TOKEN_ID = 1 << 24;

    private HuggingFaceTokenizerReader() {}

    /** An id the token table can be indexed with: ids size the table, so a hostile one must not be negative or huge. */
    private static int tokenId(Path file, String field, int id) {
        if (id < 0 || id >= MAX_TOKEN_ID) {
            throw InvalidInputException.forField(file, field, "a token id in [0, " + MAX_TOKEN_ID + ")", id);
        }
        return id;
    }

    /** {@code tokenizer.json}, with {@code tokenizer_config.json} beside it consulted for the end token. */
    public static RankedBpeTokenizer read(Path file) throws IOException {
        JsonFields root = JsonFields.of(file, JsonDocuments.read(file, MAX_TOKENIZER_BYTES), "");
        JsonFields model = root.object("model");
        String type = model.optionalString("type").orElse("BPE");
        if (!type.equals("BPE")) {
            throw InvalidInputException.forField(file, "model.type", "BPE", type);
        }
        Map<String, Integer> vocabulary = new LinkedHashMap<>();
        JsonFields vocab = model.object("vocab");
        for (Map.Entry<String, JsonNode> entry : vocab.node().properties()) {
            vocabulary.put(entry.getKey(), tokenId(file, "vocab." + entry.getKey(), vocab.toInt(entry.getValue(), "vocab." + entry.getKey())));
        }
        List<String[]> merges = new ArrayList<>();
        for (JsonNode merge : model.requireArray("merges")) {
            merges.add(mergePair(merge, file));
        }
        List<RankedBpeTokenizer.AddedToken> added = new ArrayList<>();
        if (root.has("added_tokens")) {
            for (JsonNode node : root.requireArray("added_tokens")) {
                JsonFields token = JsonFields.of(file, node, "added_tokens[]");
                added.add(new RankedBpeTokenizer.AddedToken(token.requireString("content"), tokenId(file, "added_tokens[].id", token.requireInt("id")),
                        token.optionalBoolean("special").orElse(false)));
            }
        }
        List<UnaryOperator<String>> normalizers = new ArrayList<>();
        if (root.has("normalizer")) {
            collectNormalizers(root.object("normalizer"), normalizers);
        }
        PreTokenizer preTokenizer = new PreTokenizer();
        if (root.has("pre_tokenizer")) {
            preTokenizer.collect(root.object("pre_tokenizer"));
        }
        RankedBpeTokenizer.Flavour flavour = preTokenizer.byteLevel ? RankedBpeTokenizer.Flavour.BYTE_LEVEL : RankedBpeTokenizer.Flavour.METASPACE;
        if (flavour == RankedBpeTokenizer.Flavour.METASPACE && preTokenizer.metaspace) {
            normalizers.add(text -> (preTokenizer.prependSpace ? " " + text : text).replace(' ', '\u2581'));
        }
        if (flavour == RankedBpeTokenizer.Flavour.BYTE_LEVEL && preTokenizer.addPrefixSpace) {
            normalizers.add(text -> text.startsWith(" ") ? text : " " + text);
        }
        Pattern split = flavour == RankedBpeTokenizer.Flavour.BYTE_LEVEL
                ? PreTokenizerPatterns.compile(preTokenizer.regex == null ? PreTokenizerPatterns.GPT2 : preTokenizer.regex)
                : null;
        OptionalInt bos = bosFromTemplate(root, vocabulary, added);
        OptionalInt eos = endToken(file.resolveSibling("tokenizer_config.json"), vocabulary, added);
        UnaryOperator<String> normalizer = text -> {
            String result = text;
            for (UnaryOperator<String> step : normalizers) {
                result = step.apply(result);
            }
            return result;
        };
        return new RankedBpeTokenizer(flavour, vocabulary, merges, added, split, normalizer, preTokenizer.metaspaceSplit, bos, eos);
    }

    private static String[] mergePair(JsonNode merge, Path file) {
        if (merge.isTextual()) {
            String[] parts = merge.textValue().split(" ", 2);
            if (parts.length == 2) {
                return parts;
            }
        }
        else if (merge.isArray() && merge.size() == 2 && merge.get(0).isTextual() && merge.get(1).isTextual()) {
            return new String[] {merge.get(0).textValue(), merge.get(1).textValue()};
        }
        throw InvalidInputException.forField(file, "model.merges", "\"left right\" strings or [left, right] pairs", JsonFields.describe(merge));
    }

    private static void collectNormalizers(JsonFields normalizer, List<UnaryOperator<String>> steps) {
        String type = normalizer.requireString("type");
        switch (type) {
            case "Sequence" -> {
                for (JsonNode child : normalizer.requireArray("normalizers")) {
                    collectNormalizers(JsonFields.of(normalizer.file(), child, normalizer.fieldPath("normalizers[]")), steps);
                }
            }
            case "NFC" -> steps.add(text -> Normalizer.normalize(text, Normalizer.Form.NFC));
            case "NFD" -> steps.add(text -> Normalizer.normalize(text, Normalizer.Form.NFD));
            case "NFKC" -> steps.add(text -> Normalizer.normalize(text, Normalizer.Form.NFKC));
            case "NFKD" -> steps.add(text -> Normalizer.normalize(text, Normalizer.Form.NFKD));
            case "Lowercase" -> steps.add(text -> text.toLowerCase(Locale.ROOT));
            case "Prepend" -> {
                String prefix = normalizer.requireString("prepend");
                steps.add(text -> prefix + text);
            }
            case "Replace" -> {
                JsonFields pattern = normalizer.object("pattern");
                if (!pattern.has("String")) {
                    throw InvalidInputException.forField(normalizer.file(), normalizer.fieldPath("pattern"), "a String pattern", "a Regex pattern");
                }
                String from = pattern.requireString("String");
                String to = normalizer.requireString("content");
                steps.add(text -> text.replace(from, to));
            }
            default -> throw InvalidInputException.forField(normalizer.file(), normalizer.fieldPath("type"),
                    "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend or Replace", type);
        }
    }

    /** What the pre-tokenizer pipeline amounts to. */
    private static final class PreTokenizer {
        boolean byteLevel;
        boolean addPrefixSpace;
        String regex;
        boolean metaspace;
        boolean metaspaceSplit;
        boolean prependSpace;

        void collect(JsonFields node) {
            String type = node.requireString("type");
            switch (type) {
                case "Sequence" -> {
                    for (JsonNode child : node.requireArray("pretokenizers")) {
                        collect(JsonFields.of(node.file(), child, node.fieldPath("pretokenizers[]")));
                    }
                }
                case "ByteLevel" -> {
                    byteLevel = true;
                    addPrefixSpace = node.optionalBoolean("add_prefix_space").orElse(false);
                    if (regex == null && node.optionalBoolean("use_regex").orElse(true)) {
                        regex = PreTokenizerPatterns.GPT2;
                    }
                }
                case "Split" -> {
                    JsonFields pattern = node.object("pattern");
                    String behavior = node.optionalString("behavior").orElse("Isolated");
                    if (!pattern.has("Regex") || !behavior.equals("Isolated") || node.optionalBoolean("invert").orElse(false)) {
                        throw InvalidInputException.forField(node.file(), node.fieldPath("pattern"), "an Isolated, non-inverted Regex split", behavior);
                    }
                    regex = pattern.requireString("Regex");
                }
                case "Metaspace" -> {
                    metaspace = true;
                    metaspaceSplit = node.optionalBoolean("split").orElse(true);
                    String scheme = node.optionalString("prepend_scheme").orElse(node.optionalBoolean("add_prefix_space").orElse(true) ? "always" : "never");
                    prependSpace = !scheme.equals("never");
                }
                default -> throw InvalidInputException.forField(node.file(), node.fieldPath("type"), "Sequence, ByteLevel, Split or Metaspace", type);
            }
        }
    }

    /** The special token a TemplateProcessing post-processor puts before the text, if any. */
    private static OptionalInt bosFromTemplate(JsonFields root, Map<String, Integer> vocabulary, List<RankedBpeTokenizer.AddedToken> added) {
        if (!root.has("post_processor")) {
            return OptionalInt.empty();
        }
        JsonNode processor = root.require("post_processor");
        List<JsonNode> candidates = new ArrayList<>();
        if ("Sequence".equals(processor.path("type").asText())) {
            processor.path("processors").forEach(candidates::add);
        }
        else {
            candidates.add(processor);
        }
        for (JsonNode candidate : candidates) {
            JsonNode single = candidate.path("single");
            if ("TemplateProcessing".equals(candidate.path("type").asText()) && single.isArray() && !single.isEmpty()) {
                JsonNode first = single.get(0).path("SpecialToken").path("id");
                if (first.isTextual()) {
                    return idOf(first.textValue(), vocabulary, added);
                }
            }
        }
        return OptionalInt.empty();
    }

    private static OptionalInt endToken(Path config, Map<String, Integer> vocabulary, List<RankedBpeTokenizer.AddedToken> added) throws IOException {
        if (!Files.isRegularFile(config)) {
            return OptionalInt.empty();
        }
        JsonNode eos = JsonDocuments.read(config, MAX_TOKENIZER_BYTES).path("eos_token");
        String content = eos.isTextual() ? eos.textValue() : eos.path("content").asText(null);
        return content == null ? OptionalInt.empty() : idOf(content, vocabulary, added);
    }

    private static OptionalInt idOf(String content, Map<String, Integer> vocabulary, List<RankedBpeTokenizer.AddedToken> added) {
        for (RankedBpeTokenizer.AddedToken token : added) {
            if (token.content().equals(content)) {
                return OptionalInt.of(token.id());
            }
        }
        Integer id = vocabulary.get(content);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }
}
