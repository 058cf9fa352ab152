package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.metrics.Divergence;
import dev.spikeconv.converter.reference.ReferenceModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs the probe suite on the dense model first, then on the bundle (and the baseline) only where the dense model
 * passes: a probe the dense model cannot do says nothing about the conversion.
 */
final class RetrievalProbeRun {
    /** The dense model passes a probe at a distance when at least this share of its answers is its top-1 prediction. */
    static final double PASSING_ACCURACY = 0.5;

    private RetrievalProbeRun() {}

    /** A model as the probes see it: the logits {@code [positions, vocabulary]} at some positions of a sequence run from its start. */
    @FunctionalInterface
    interface Model {
        float[] logitsAt(int[] tokens, int[] positions);
    }

    /** {@code baseline} may be null. */
    static VerifyReport.Probes run(RetrievalProbes.Suite suite, int trials, int vocabulary, Model dense, Model bundle, Model baseline, Consumer<String> progress) {
        Map<String, List<RetrievalProbes.Probe>> groups = new LinkedHashMap<>();
        for (RetrievalProbes.Probe probe : suite.probes()) {
            groups.computeIfAbsent(probe.kind().id() + " " + probe.distance(), key -> new ArrayList<>()).add(probe);
        }
        List<VerifyReport.ProbeResult> results = new ArrayList<>();
        for (List<RetrievalProbes.Probe> group : groups.values()) {
            RetrievalProbes.Probe first = group.getFirst();
            String name = String.format(Locale.ROOT, "%s at %d tokens", first.kind().id(), first.distance());
            progress.accept("probe " + name + ": dense model");
            Accuracy reference = accuracy(dense, group, vocabulary);
            if (reference.share() < PASSING_ACCURACY) {
                results.add(new VerifyReport.ProbeResult(first.kind(), first.distance(), reference.answers(), reference.share(), null, null));
                continue;
            }
            progress.accept("probe " + name + ": bundle" + (baseline != null ? " and baseline" : ""));
            Double bundleShare = accuracy(bundle, group, vocabulary).share();
            Double baselineShare = baseline == null ? null : accuracy(baseline, group, vocabulary).share();
            results.add(new VerifyReport.ProbeResult(first.kind(), first.distance(), reference.answers(), reference.share(), bundleShare, baselineShare));
        }
        List<String> notes = new ArrayList<>(suite.notes());
        for (ProbeKind kind : ProbeKind.values()) {
            List<VerifyReport.ProbeResult> ofKind = results.stream().filter(result -> result.kind() == kind).toList();
            if (!ofKind.isEmpty() && ofKind.stream().allMatch(VerifyReport.ProbeResult::skipped)) {
                VerifyReport.ProbeResult best = ofKind.stream().max(java.util.Comparator.comparingDouble(VerifyReport.ProbeResult::referenceAccuracy)).orElseThrow();
                notes.add(String.format(Locale.ROOT, "%s skipped: the dense model fails it at every distance (best %.3f at %d tokens, passing needs %.2f)",
                        kind.id(), best.referenceAccuracy(), best.distance(), PASSING_ACCURACY));
            }
        }
        return new VerifyReport.Probes(trials, PASSING_ACCURACY, results, notes);
    }

    /** The reference engine's run of a whole sequence, layer by layer, with the output head applied only at the asked positions. */
    static Model of(ReferenceModel model) {
        int hidden = model.config().hiddenSize();
        return (tokens, positions) -> {
            float[] stream = model.embed(tokens);
            for (int layer = 0; layer < model.config().layerCount(); layer++) {
                model.runLayer(layer, stream, tokens.length);
            }
            float[] rows = new float[positions.length * hidden];
            for (int i = 0; i < positions.length; i++) {
                System.arraycopy(stream, positions[i] * hidden, rows, i * hidden, hidden);
            }
            return model.logits(rows, positions.length);
        };
    }

    private record Accuracy(int answers, double share) {}

    private static Accuracy accuracy(Model model, List<RetrievalProbes.Probe> probes, int vocabulary) {
        int answers = 0;
        int right = 0;
        for (RetrievalProbes.Probe probe : probes) {
            float[] logits = model.logitsAt(probe.tokens(), probe.queryPositions());
            float[][] rows = DistanceMeasure.rows(logits, probe.queryPositions().length, vocabulary);
            for (int i = 0; i < rows.length; i++) {
                answers++;
                if (Divergence.argmax(rows[i]) == probe.answers()[i]) {
                    right++;
                }
            }
        }
        return new Accuracy(answers, answers == 0 ? 0 : (double) right / answers);
    }
}
