package dev.spikeconv.formats.tokenizer;

import dev.spikeconv.formats.io.InvalidInputException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * BPE with a ranked merge list, as Hugging Face tokenizers and GGUF {@code gpt2} vocabularies define
 * it, in two flavours: byte-level (GPT-2, Llama 3, Qwen: text split by a regex, bytes written in
 * {@link ByteLevelAlphabet}) and metaspace (Llama 2 style: spaces as {@code ▁}, unknown characters
 * as {@code <0xXX>} byte pieces). Added tokens written in the text map to their ids directly.
 */
public final class RankedBpeTokenizer implements Tokenizer {
    private static final Pattern BYTE_PIECE = Pattern.compile("<0x([0-9A-Fa-f]{2})>");

    public enum Flavour {
        BYTE_LEVEL,
        METASPACE
    }

    /** A token matched literally in the text; {@code special} ones decode to nothing. */
    public record AddedToken(String content, int id, boolean special) {}

    private record Pair(String left, String right) {}

    private final Flavour flavour;
    private final Map<String, Integer> vocabulary;
    private final String[] pieces;
    private final Map<Pair, Integer> ranks = new HashMap<>();
    private final Map<Character, List<AddedToken>> addedTokensByFirstCharacter = new HashMap<>();
    private final boolean[] special;
    private final Pattern split;
    private final UnaryOperator<String> normalizer;
    private final boolean metaspaceSplit;
    private final OptionalInt bos;
    private final OptionalInt eos;

    /**
     * @param merges     pairs in rank order
     * @param split      the pre-tokenizer regex (byte-level), or null to treat each text segment as one word
     * @param normalizer applied to each text segment before splitting (for metaspace: the ▁ rewriting)
     * @param metaspaceSplit whether a metaspace pre-tokenizer splits words before each ▁
     */
    public RankedBpeTokenizer(Flavour flavour, Map<String, Integer> vocabulary, List<String[]> merges, List<AddedToken> addedTokens,
            Pattern split, UnaryOperator<String> normalizer, boolean metaspaceSplit, OptionalInt bos, OptionalInt eos) {
        this.flavour = flavour;
        this.vocabulary = Map.copyOf(vocabulary);
        int size = vocabulary.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        for (AddedToken token : addedTokens) {
            size = Math.max(size, token.id() + 1);
        }
        this.pieces = new String[size];
        vocabulary.forEach((piece, id) -> pieces[id] = piece);
        this.special = new boolean[size];
        for (AddedToken token : addedTokens) {
            pieces[token.id()] = token.content();
            special[token.id()] = token.special();
        }
        for (int rank = 0; rank < merges.size(); rank++) {
            ranks.putIfAbsent(new Pair(merges.get(rank)[0], merges.get(rank)[1]), rank);
        }
        // Longest first, so "<|end|>" wins over "<|e" when both are added tokens.
        addedTokens.stream()
                .filter(token -> !token.content().isEmpty())
                .sorted(Comparator.comparingInt((AddedToken token) -> -token.content().length()))
                .forEach(token -> addedTokensByFirstCharacter.computeIfAbsent(token.content().charAt(0), first -> new ArrayList<>()).add(token));
        this.split = split;
        this.normalizer = normalizer;
        this.metaspaceSplit = metaspaceSplit;
        this.bos = bos;
        this.eos = eos;
    }

    @Override
    public int[] encode(String text) {
        List<Integer> ids = new ArrayList<>();
        int segmentStart = 0;
        int position = 0;
        while (position < text.length()) {
            AddedToken added = addedTokenAt(text, position);
            if (added == null) {
                position++;
                continue;
            }
            encodeSegment(text.substring(segmentStart, position), ids);
            ids.add(added.id());
            position += added.content().length();
            segmentStart = position;
        }
        encodeSegment(text.substring(segmentStart), ids);
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private AddedToken addedTokenAt(String text, int position) {
        for (AddedToken token : addedTokensByFirstCharacter.getOrDefault(text.charAt(position), List.of())) {
            if (text.startsWith(token.content(), position)) {
                return token;
            }
        }
        return null;
    }

    private void encodeSegment(String segment, List<Integer> ids) {
        if (segment.isEmpty()) {
            return;
        }
        String normalized = normalizer.apply(segment);
        for (String word : words(normalized)) {
            List<String> symbols = switch (flavour) {
                case BYTE_LEVEL -> ByteLevelAlphabet.encode(word.getBytes(StandardCharsets.UTF_8)).codePoints().mapToObj(Character::toString).toList();
                case METASPACE -> word.codePoints().mapToObj(Character::toString).toList();
            };
            for (String symbol : PairMerger.merge(symbols, this::rank)) {
                Integer id = vocabulary.get(symbol);
                if (id != null) {
                    ids.add(id);
                    continue;
                }
                for (byte value : symbol.getBytes(StandardCharsets.UTF_8)) {
                    Integer byteId = vocabulary.get(String.format("<0x%02X>", value & 0xFF));
                    if (byteId == null) {
                        throw new InvalidInputException("the tokenizer has no token for '" + symbol + "' and no <0xNN> byte tokens to fall back on");
                    }
                    ids.add(byteId);
                }
            }
        }
    }

    private List<String> words(String text) {
        List<String> words = new ArrayList<>();
        if (split != null) {
            Matcher matcher = split.matcher(PreTokenizerPatterns.budgeted(text));
            int end = 0;
            while (matcher.find()) {
                if (matcher.start() > end) {
                    words.add(text.substring(end, matcher.start()));
                }
                if (matcher.end() > matcher.start()) {
                    words.add(matcher.group());
                }
                end = matcher.end();
            }
            if (end < text.length()) {
                words.add(text.substring(end));
            }
            return words;
        }
        if (metaspaceSplit) {
            int start = 0;
            for (int i = 1; i < text.length(); i++) {
                if (text.charAt(i) == '\u2581') {
                    words.add(text.substring(start, i));
                    start = i;
                }
            }
            words.add(text.substring(start));
            return words;
        }
        return List.of(text);
    }

    private double rank(String left, String right) {
        Integer rank = ranks.get(new Pair(left, right));
        return rank == null ? Double.NaN : rank;
    }

    @Override
    public byte[] tokenBytes(int previousId, int id) {
        if (id < 0 || id >= pieces.length || pieces[id] == null) {
            throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + pieces.length);
        }
        if (special[id]) {
            return new byte[0];
        }
        String piece = pieces[id];
        return switch (flavour) {
            case BYTE_LEVEL -> ByteLevelAlphabet.decode(piece);
            case METASPACE -> {
                Matcher matcher = BYTE_PIECE.matcher(piece);
                if (matcher.matches()) {
                    yield new byte[] {(byte) Integer.parseInt(matcher.group(1), 16)};
                }
                String text = piece.replace('\u2581', ' ');
                boolean atStart = previousId < 0 || (bos.isPresent() && previousId == bos.getAsInt());
                yield (atStart && text.startsWith(" ") ? text.substring(1) : text).getBytes(StandardCharsets.UTF_8);
            }
        };
    }

    @Override
    public OptionalInt bosTokenId() {
        return bos;
    }

    @Override
    public OptionalInt eosTokenId() {
        return eos;
    }

    @Override
    public int vocabularySize() {
        return pieces.length;
    }

    public Flavour flavour() {
        return flavour;
    }
}
