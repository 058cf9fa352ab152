package dev.spikeconv.converter.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spikeconv.converter.InvalidOptionException;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The probe suite against fake models whose answers are known: a copier that continues the longest earlier match of
 * its last tokens (what an induction head does) answers every probe within its reach and none beyond; a model that
 * always names one token answers none, so the suite skips the other models.
 */
class RetrievalProbesTest {
    private static final int VOCABULARY = 1000;
    private static final Set<ProbeKind> BOTH = Set.of(ProbeKind.PASSKEY, ProbeKind.KEY_VALUE_RECALL);

    /** Text-like ids: 700 tokens, a quarter of them repeating an earlier one. */
    private static int[] text(int length) {
        SplittableRandom random = new SplittableRandom(7);
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = i > 0 && random.nextInt(4) == 0 ? tokens[random.nextInt(i)] : 1 + random.nextInt(700);
        }
        return tokens;
    }

    /**
     * Predicts the token that followed the latest earlier occurrence of the longest suffix (up to 4 tokens) of what it has
     * read, looking back at most {@code reach} tokens; logits are one-hot on that token (on token 0 without a match, a
     * token no text here uses).
     */
    private static RetrievalProbeRun.Model copier(int reach) {
        return (tokens, positions) -> {
            float[] logits = new float[positions.length * VOCABULARY];
            for (int i = 0; i < positions.length; i++) {
                logits[i * VOCABULARY + Math.max(0, copy(tokens, positions[i], reach))] = 1;
            }
            return logits;
        };
    }

    private static int copy(int[] tokens, int position, int reach) {
        for (int length = 4; length >= 1; length--) {
            for (int end = position - 1; end >= Math.max(length - 1, position - reach); end--) {
                if (Arrays.equals(tokens, end - length + 1, end + 1, tokens, position - length + 1, position + 1)) {
                    return tokens[end + 1];
                }
            }
        }
        return -1;
    }

    private static RetrievalProbeRun.Model constant(int token) {
        return (tokens, positions) -> {
            float[] logits = new float[positions.length * VOCABULARY];
            for (int i = 0; i < positions.length; i++) {
                logits[i * VOCABULARY + token] = 1;
            }
            return logits;
        };
    }

    @Test
    void everyAnswerLiesItsDistanceBackAndIsNotGivenNearer() {
        RetrievalProbes.Suite suite = RetrievalProbes.build(new ProbeOptions(BOTH, List.of(16, 64, 256), 3), text(5000), 512);
        assertThat(suite.probes()).hasSize(2 * 3 * 3);
        assertThat(suite.notes()).isEmpty();
        for (RetrievalProbes.Probe probe : suite.probes()) {
            assertThat(probe.tokens()).hasSize(RetrievalProbes.length(probe.kind(), probe.distance()));
            for (int i = 0; i < probe.queryPositions().length; i++) {
                int query = probe.queryPositions()[i];
                // The answer sits exactly distance - 1 tokens before the question's target: the needle or the pair.
                assertThat(probe.tokens()[query - probe.distance() + 1]).as("%s at %d", probe.kind(), probe.distance()).isEqualTo(probe.answers()[i]);
                if (query + 1 < probe.tokens().length) {
                    assertThat(probe.tokens()[query + 1]).isEqualTo(probe.answers()[i]);
                }
                // Nothing within the distance tells the answer by copying: a copier that cannot reach back that far misses it.
                assertThat(copy(probe.tokens(), query, probe.distance() - 2)).isNotEqualTo(probe.answers()[i]);
            }
        }
    }

    @Test
    void aCopierAnswersWithinItsReachAndTheSuiteSkipsWhatTheDenseModelFails() {
        RetrievalProbes.Suite suite = RetrievalProbes.build(new ProbeOptions(BOTH, List.of(), 4), text(5000), 1100);
        VerifyReport.Probes probes = RetrievalProbeRun.run(suite, 4, VOCABULARY, copier(Integer.MAX_VALUE), copier(64), constant(0), stage -> { });
        // Distances 16, 64, 256 and 1024 fit 1100 positions; 4096 and beyond are left out without a note (none were asked for).
        assertThat(probes.results()).extracting(VerifyReport.ProbeResult::distance).containsExactly(16, 64, 256, 1024, 16, 64, 256, 1024);
        assertThat(probes.notes()).isEmpty();
        for (VerifyReport.ProbeResult result : probes.results()) {
            assertThat(result.referenceAccuracy()).isEqualTo(1.0);
            assertThat(result.bundleAccuracy()).as("%s at %d", result.kind(), result.distance()).isEqualTo(result.distance() <= 64 ? 1.0 : 0.0);
            assertThat(result.baselineAccuracy()).isEqualTo(0.0);
        }
        VerifyReport.ProbeResult passkey = probes.results().getFirst();
        assertThat(passkey.answers()).isEqualTo(4 * RetrievalProbes.KEY_LENGTH);

        VerifyReport.Probes failing = RetrievalProbeRun.run(suite, 4, VOCABULARY, constant(3), copier(Integer.MAX_VALUE), null, stage -> { });
        assertThat(failing.results()).allMatch(VerifyReport.ProbeResult::skipped);
        assertThat(failing.notes()).containsExactly(
                "passkey skipped: the dense model fails it at every distance (best 0.000 at 16 tokens, passing needs 0.50)",
                "kv-recall skipped: the dense model fails it at every distance (best 0.000 at 16 tokens, passing needs 0.50)");
    }

    @Test
    void theDenseModelDecidesPerDistance() {
        RetrievalProbes.Suite suite = RetrievalProbes.build(new ProbeOptions(Set.of(ProbeKind.PASSKEY), List.of(16, 256), 2), text(3000), 512);
        VerifyReport.Probes probes = RetrievalProbeRun.run(suite, 2, VOCABULARY, copier(64), copier(Integer.MAX_VALUE), null, stage -> { });
        assertThat(probes.results()).extracting(VerifyReport.ProbeResult::skipped).containsExactly(false, true);
        assertThat(probes.results().get(1).bundleAccuracy()).isNull();
        assertThat(probes.notes()).isEmpty();
    }

    @Test
    void theSameOptionsGiveTheSameProbes() {
        ProbeOptions options = new ProbeOptions(BOTH, List.of(64), 2);
        List<RetrievalProbes.Probe> first = RetrievalProbes.build(options, text(2000), 512).probes();
        List<RetrievalProbes.Probe> second = RetrievalProbes.build(options, text(2000), 512).probes();
        for (int i = 0; i < first.size(); i++) {
            assertThat(second.get(i).tokens()).isEqualTo(first.get(i).tokens());
            assertThat(second.get(i).answers()).isEqualTo(first.get(i).answers());
        }
        assertThat(first.get(0).tokens()).isNotEqualTo(first.get(1).tokens());
    }

    @Test
    void whatCannotBeBuiltIsNamed() {
        RetrievalProbes.Suite suite = RetrievalProbes.build(new ProbeOptions(BOTH, List.of(64, 1024), 1), text(2000), 512);
        assertThat(suite.notes()).containsExactly("passkey at [1024] tokens would be longer than the model's 512 positions",
                "kv-recall at [1024] tokens would be longer than the model's 512 positions");
        int[] fewTokens = new int[600];
        for (int i = 0; i < fewTokens.length; i++) {
            fewTokens[i] = i % 36;
        }
        RetrievalProbes.Suite small = RetrievalProbes.build(new ProbeOptions(Set.of(ProbeKind.KEY_VALUE_RECALL), List.of(16, 64), 1), fewTokens, 512);
        assertThat(small.probes()).extracting(RetrievalProbes.Probe::distance).containsExactly(16);
        assertThat(small.notes()).containsExactly("kv-recall at 64 tokens needs 40 distinct tokens (a key per pair and 8 values); the evaluation text uses 36");
        assertThatThrownBy(() -> RetrievalProbes.build(new ProbeOptions(BOTH, List.of(), 1), new int[] {1, 2, 3, 1, 2, 3}, 512))
                .isInstanceOf(InvalidOptionException.class).hasMessageContaining("3 distinct tokens");
        assertThatThrownBy(() -> new ProbeOptions(BOTH, List.of(8), 1)).isInstanceOf(InvalidOptionException.class).hasMessageContaining("at least 16");
    }
}
