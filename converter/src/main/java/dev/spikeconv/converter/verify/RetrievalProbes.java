package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.InvalidOptionException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * verify's synthetic probe suite, built from the evaluation tokens so it needs no tokenizer: passkey retrieval and
 * key-value recall at growing distances. Each probe is a token sequence with the positions where the model must name a
 * token that only an earlier part of the sequence, {@code distance} tokens back, gives.
 *
 * <ul>
 * <li>passkey: natural text, a cue of {@value #CUE_LENGTH} random tokens and a key of {@value #KEY_LENGTH} random tokens,
 * natural text, the cue again; the key is to follow (teacher-forced, one answer per key token). The distance runs from
 * the first cue to the second. The cue never occurs in the text around it, so only the needle answers it.
 * <li>kv-recall: natural text, then {@code distance / 2} pairs of a key and a value (random tokens; keys distinct, no value a key), then
 * the first {@value #PAIRS_QUERIED} keys again, each followed by its value; the answers are those values, each asked
 * {@code distance} tokens after its pair.
 * </ul>
 * Random tokens are drawn from the tokens the evaluation text uses, so every probe token is one the model has seen in
 * use. The same options and text give the same probes.
 */
public final class RetrievalProbes {
    /** The distances tried when none are given, those that fit the model's positions. */
    public static final List<Integer> DEFAULT_DISTANCES = List.of(16, 64, 256, 1024, 4096, 16384, 65536);
    static final int SHORTEST_DISTANCE = 16;
    static final int CUE_LENGTH = 4;
    static final int KEY_LENGTH = 4;
    static final int PAIRS_QUERIED = 4;
    /** Natural text before the needle, so the sequence does not open with it. */
    static final int LEAD = 8;
    /** Positions assumed when the model does not give its own. */
    static final int UNKNOWN_CONTEXT = 4096;
    private static final int FEWEST_DISTINCT_TOKENS = 16;
    /** kv-recall's values come from at least this many tokens that are no key. */
    private static final int FEWEST_VALUES = 8;
    private static final int CUE_ATTEMPTS = 1000;
    private static final long SEED = 0x5EED_9A55_4E1FL;

    private RetrievalProbes() {}

    /**
     * One probe: the sequence, the positions whose next-token prediction is scored and the tokens expected there.
     */
    public record Probe(ProbeKind kind, int distance, int[] tokens, int[] queryPositions, int[] answers) {}

    /** The probes, in order of kind then distance then trial, and a line for each distance left out and why. */
    public record Suite(List<Probe> probes, List<String> notes) {}

    /** Probes over {@code text} (the evaluation tokens) for a model with {@code maxPositions} positions (0: unknown). */
    public static Suite build(ProbeOptions options, int[] text, int maxPositions) {
        int[] alphabet = new TreeSet<>(Arrays.stream(text).boxed().toList()).stream().mapToInt(Integer::intValue).toArray();
        if (alphabet.length < FEWEST_DISTINCT_TOKENS) {
            throw new InvalidOptionException("probes", "the evaluation text uses " + alphabet.length + " distinct tokens; the probes draw their keys from "
                    + "at least " + FEWEST_DISTINCT_TOKENS);
        }
        int positions = maxPositions > 0 ? maxPositions : UNKNOWN_CONTEXT;
        List<Integer> distances = options.distances().isEmpty() ? DEFAULT_DISTANCES : options.distances().stream().sorted().distinct().toList();
        List<Probe> probes = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (ProbeKind kind : ProbeKind.values()) {
            if (!options.kinds().contains(kind)) {
                continue;
            }
            List<Integer> tooLong = new ArrayList<>();
            for (int distance : distances) {
                if (length(kind, distance) > positions) {
                    tooLong.add(distance);
                    continue;
                }
                if (kind == ProbeKind.KEY_VALUE_RECALL && distance / 2 + FEWEST_VALUES > alphabet.length) {
                    notes.add(kind.id() + " at " + distance + " tokens needs " + (distance / 2 + FEWEST_VALUES) + " distinct tokens (a key per pair and "
                            + FEWEST_VALUES + " values); the evaluation text uses " + alphabet.length);
                    continue;
                }
                for (int trial = 0; trial < options.trials(); trial++) {
                    SplittableRandom random = new SplittableRandom(SEED + 1_000_003L * (kind.ordinal() * 1_000_003L + distance) + trial);
                    probes.add(switch (kind) {
                        case PASSKEY -> passkey(distance, text, alphabet, random);
                        case KEY_VALUE_RECALL -> keyValueRecall(distance, text, alphabet, random);
                    });
                }
            }
            if (!tooLong.isEmpty() && !options.distances().isEmpty()) {
                notes.add(kind.id() + " at " + tooLong + " tokens would be longer than the model's " + positions + " positions");
            }
        }
        return new Suite(probes, notes);
    }

    /** The tokens a probe of {@code kind} at {@code distance} runs. */
    static int length(ProbeKind kind, int distance) {
        return switch (kind) {
            case PASSKEY -> LEAD + distance + CUE_LENGTH + KEY_LENGTH - 1;
            case KEY_VALUE_RECALL -> LEAD + distance + 2 * PAIRS_QUERIED - 1;
        };
    }

    private static Probe passkey(int distance, int[] text, int[] alphabet, SplittableRandom random) {
        int filler = distance - CUE_LENGTH - KEY_LENGTH;
        int start = random.nextInt(text.length);
        int[] lead = natural(text, start, LEAD);
        int[] middle = natural(text, start + LEAD, filler);
        int[] cue = distinct(alphabet, CUE_LENGTH, new int[0], random);
        for (int attempt = 1; contains(lead, middle, cue); attempt++) {
            if (attempt == CUE_ATTEMPTS) {
                throw new InvalidOptionException("probes", "every cue of " + CUE_LENGTH + " tokens drawn from the evaluation text occurs in the text around "
                        + "a passkey of " + distance + " tokens: the text is too repetitive for the probe");
            }
            cue = distinct(alphabet, CUE_LENGTH, new int[0], random);
        }
        int[] key = distinct(alphabet, KEY_LENGTH, cue, random);
        int[] tokens = new int[length(ProbeKind.PASSKEY, distance)];
        int at = 0;
        at = put(tokens, at, lead);
        at = put(tokens, at, cue);
        at = put(tokens, at, key);
        at = put(tokens, at, middle);
        int secondCue = at;
        at = put(tokens, at, cue);
        put(tokens, at, Arrays.copyOf(key, KEY_LENGTH - 1));
        int[] queries = new int[KEY_LENGTH];
        for (int i = 0; i < KEY_LENGTH; i++) {
            queries[i] = secondCue + CUE_LENGTH - 1 + i;
        }
        return new Probe(ProbeKind.PASSKEY, distance, tokens, queries, key);
    }

    private static Probe keyValueRecall(int distance, int[] text, int[] alphabet, SplittableRandom random) {
        int pairs = distance / 2;
        int[] keys = distinct(alphabet, pairs, new int[0], random);
        // Values are never keys: a key then occurs only in its pair and its question.
        int[] valueTokens = distinct(alphabet, alphabet.length - pairs, keys, random);
        int[] values = new int[pairs];
        for (int i = 0; i < pairs; i++) {
            values[i] = valueTokens[random.nextInt(valueTokens.length)];
        }
        int[] tokens = new int[length(ProbeKind.KEY_VALUE_RECALL, distance)];
        int at = put(tokens, 0, natural(text, random.nextInt(text.length), LEAD));
        int firstKey = at;
        for (int i = 0; i < pairs; i++) {
            tokens[at++] = keys[i];
            tokens[at++] = values[i];
        }
        // With an odd distance the pair block is one short of it: a filler token keeps every question exactly distance back.
        if (distance % 2 == 1) {
            tokens[at++] = valueTokens[random.nextInt(valueTokens.length)];
        }
        int queried = Math.min(PAIRS_QUERIED, pairs);
        int[] queries = new int[queried];
        int[] answers = new int[queried];
        for (int i = 0; i < queried; i++) {
            queries[i] = firstKey + 2 * i + distance;
            answers[i] = values[i];
            tokens[queries[i]] = keys[i];
            if (queries[i] + 1 < tokens.length) {
                tokens[queries[i] + 1] = values[i];
            }
        }
        return new Probe(ProbeKind.KEY_VALUE_RECALL, distance, tokens, queries, answers);
    }

    /** {@code count} tokens of the text from {@code start}, wrapping around its end. */
    private static int[] natural(int[] text, int start, int count) {
        int[] tokens = new int[count];
        for (int i = 0; i < count; i++) {
            tokens[i] = text[Math.floorMod(start + i, text.length)];
        }
        return tokens;
    }

    /** {@code count} different tokens of the alphabet, none of them in {@code excluded}. */
    private static int[] distinct(int[] alphabet, int count, int[] excluded, SplittableRandom random) {
        int[] pool = Arrays.stream(alphabet).filter(token -> Arrays.stream(excluded).noneMatch(other -> other == token)).toArray();
        for (int i = 0; i < count; i++) {
            int j = i + random.nextInt(pool.length - i);
            int swap = pool[i];
            pool[i] = pool[j];
            pool[j] = swap;
        }
        return Arrays.copyOf(pool, count);
    }

    /** Whether {@code pattern} occurs in {@code first} followed by {@code second}, or across the two. */
    private static boolean contains(int[] first, int[] second, int[] pattern) {
        int[] joined = new int[first.length + second.length];
        System.arraycopy(first, 0, joined, 0, first.length);
        System.arraycopy(second, 0, joined, first.length, second.length);
        for (int start = 0; start + pattern.length <= joined.length; start++) {
            if (Arrays.equals(joined, start, start + pattern.length, pattern, 0, pattern.length)) {
                return true;
            }
        }
        return false;
    }

    private static int put(int[] tokens, int at, int[] part) {
        System.arraycopy(part, 0, tokens, at, part.length);
        return at + part.length;
    }
}
