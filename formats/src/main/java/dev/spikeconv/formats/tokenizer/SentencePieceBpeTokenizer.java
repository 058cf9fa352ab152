package dev.spikeconv.formats.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SentencePiece's BPE as llama2.c's {@code run.c} and llama.cpp's SPM tokenizer apply it: a space
 * prepended to the text, spaces written as the vocabulary's space symbol, one symbol per character,
 * then merges of the adjacent pair whose union has the highest score, leftmost first, until none
 * applies; a symbol the vocabulary lacks becomes its bytes ({@code <0xXX>} pieces).
 */
public final class SentencePieceBpeTokenizer implements Tokenizer {
    private static final Pattern BYTE_PIECE = Pattern.compile("<0x([0-9A-Fa-f]{2})>");

    /** How a piece may be used. */
    public enum PieceType {
        NORMAL,
        /** BOS, EOS, unknown and other control pieces: never produced from text, decoded to nothing. */
        CONTROL,
        /** {@code <0xXX>}: one raw byte. */
        BYTE
    }

    private final List<String> pieces;
    private final float[] scores;
    private final PieceType[] types;
    private final String spaceSymbol;
    private final Map<String, Integer> normalIds = new HashMap<>();
    private final int[] byteIds = new int[256];
    private final OptionalInt bos;
    private final OptionalInt eos;

    /**
     * @param spaceSymbol how pieces write a space: {@code "▁"} in SentencePiece and GGUF vocabularies,
     *                    {@code " "} in llama2.c's tokenizer.bin
     */
    public SentencePieceBpeTokenizer(List<String> pieces, float[] scores, PieceType[] types, String spaceSymbol, OptionalInt bos, OptionalInt eos) {
        if (pieces.size() != scores.length || pieces.size() != types.length) {
            throw new IllegalArgumentException("pieces, scores and types differ in length");
        }
        this.pieces = List.copyOf(pieces);
        this.scores = scores.clone();
        this.types = types.clone();
        this.spaceSymbol = spaceSymbol;
        this.bos = bos;
        this.eos = eos;
        Arrays.fill(byteIds, -1);
        for (int id = 0; id < pieces.size(); id++) {
            switch (types[id]) {
                case NORMAL -> normalIds.putIfAbsent(pieces.get(id), id);
                case BYTE -> {
                    Matcher matcher = BYTE_PIECE.matcher(pieces.get(id));
                    if (matcher.matches()) {
                        byteIds[Integer.parseInt(matcher.group(1), 16)] = id;
                    }
                }
                case CONTROL -> { }
            }
        }
    }

    /** The type a piece has when the file does not say: {@code <0xXX>} is a byte, the given ids are control. */
    public static PieceType inferType(String piece, int id, OptionalInt bos, OptionalInt eos, OptionalInt unknown) {
        if (BYTE_PIECE.matcher(piece).matches()) {
            return PieceType.BYTE;
        }
        boolean control = (bos.isPresent() && bos.getAsInt() == id) || (eos.isPresent() && eos.getAsInt() == id)
                || (unknown.isPresent() && unknown.getAsInt() == id);
        return control ? PieceType.CONTROL : PieceType.NORMAL;
    }

    @Override
    public int[] encode(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
        String normalized = (" " + text).replace(" ", spaceSymbol);
        List<String> characters = normalized.codePoints().mapToObj(Character::toString).toList();
        List<String> symbols = PairMerger.merge(characters, (left, right) -> {
            Integer merged = normalIds.get(left + right);
            return merged == null ? Double.NaN : -scores[merged];
        });
        List<Integer> ids = new ArrayList<>();
        for (String symbol : symbols) {
            Integer id = normalIds.get(symbol);
            if (id != null) {
                ids.add(id);
                continue;
            }
            for (byte value : symbol.getBytes(StandardCharsets.UTF_8)) {
                if (byteIds[value & 0xFF] >= 0) {
                    ids.add(byteIds[value & 0xFF]);
                }
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public byte[] tokenBytes(int previousId, int id) {
        if (id < 0 || id >= pieces.size()) {
            throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + pieces.size());
        }
        return switch (types[id]) {
            case CONTROL -> new byte[0];
            case BYTE -> {
                Matcher matcher = BYTE_PIECE.matcher(pieces.get(id));
                yield matcher.matches() ? new byte[] {(byte) Integer.parseInt(matcher.group(1), 16)} : new byte[0];
            }
            case NORMAL -> {
                String piece = pieces.get(id).replace(spaceSymbol, " ");
                boolean atStart = previousId < 0 || (bos.isPresent() && previousId == bos.getAsInt());
                if (atStart && piece.startsWith(" ")) {
                    piece = piece.substring(1); // the space encode() put in front of the text
                }
                yield piece.getBytes(StandardCharsets.UTF_8);
            }
        };
    }

    public String piece(int id) {
        return pieces.get(id);
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
        return pieces.size();
    }
}
