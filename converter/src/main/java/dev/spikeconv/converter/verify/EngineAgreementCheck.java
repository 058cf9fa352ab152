package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.converter.metrics.Divergence;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.onnx.RuntimePlatform;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * ONNX Runtime against the Java reference on the same bundle, in a way that means the same at any model size. Comparing
 * the logits of two spiking runs does not: a count that flips at a rounding edge in one layer changes every later
 * layer's input, flips compound with depth, and a correct 1B model drifts as far as a broken small one. So:
 * <ol>
 *   <li>spike counts, site by site, from identical inputs: ONNX Runtime's counts against the Java rule applied to the
 *       activations ONNX Runtime traced ({@link SpikeCountAgreement});</li>
 *   <li>logits with both engines on the same counts: the Java engine takes ONNX Runtime's counts at every spiking site,
 *       so the two differ by float rounding only and the largest logit difference is a float tolerance. This runs the
 *       bundle's own graph, so whatever else the graph computes differently shows here.</li>
 * </ol>
 * Optionally also the mean KL of the two free-running spiking engines, which grows with depth.
 */
public final class EngineAgreementCheck {
    private EngineAgreementCheck() {}

    /** {@code graph} opens the bundle's graph on ONNX Runtime with the given values traced. */
    @FunctionalInterface
    public interface GraphOpener {
        OnnxRuntimeEngine open(List<String> traced) throws java.io.IOException;
    }

    public static VerifyReport.EngineAgreement measure(ModelDescription bundle, GraphOpener graph, int[] tokens, boolean freeRunning) throws java.io.IOException {
        ModelConfig config = bundle.config();
        List<String> sites = config.spike().spiking() ? SpikeSites.spikingSites(config) : List.of();
        List<String> traced = new ArrayList<>();
        for (String site : sites) {
            traced.add(DecoderGraphWriter.projectionInput(site));
            traced.add(DecoderGraphWriter.spikeCounts(site));
        }
        OnnxRuntimeEngine.Trace onnx;
        try (OnnxRuntimeEngine engine = graph.open(traced); OnnxRuntimeEngine.RuntimeSession session = engine.newSession()) {
            onnx = session.forwardTraced(tokens, traced);
        }
        Map<String, float[][]> values = onnx.values();
        SequencedMap<String, SiteThreshold> thresholds = SpikeSites.thresholds(bundle);
        List<SpikeCountAgreement> counts = new ArrayList<>();
        for (String site : sites) {
            counts.add(SpikeCountAgreement.of(site, thresholds.get(site), config.spike().timeSteps(), values.get(DecoderGraphWriter.projectionInput(site)),
                    values.get(DecoderGraphWriter.spikeCounts(site))));
        }
        float[][] shared;
        Double freeRunningKl = null;
        try (ReferenceModel reference = ReferenceModel.load(bundle)) {
            try (InferenceSession session = reference.newSession(site -> values.get(DecoderGraphWriter.spikeCounts(site)))) {
                shared = session.forward(tokens);
            }
            if (freeRunning && !sites.isEmpty()) {
                try (InferenceSession session = reference.newSession()) {
                    freeRunningKl = Divergence.meanKullbackLeibler(session.forward(tokens), onnx.logits());
                }
            }
        }
        double largestDifference = 0;
        double largestLogit = 0;
        for (int t = 0; t < tokens.length; t++) {
            for (int v = 0; v < shared[t].length; v++) {
                double difference = Math.abs(shared[t][v] - onnx.logits()[t][v]);
                largestDifference = Math.max(largestDifference, Double.isNaN(difference) ? Double.POSITIVE_INFINITY : difference);
                largestLogit = Math.max(largestLogit, Math.abs(onnx.logits()[t][v]));
            }
        }
        return new VerifyReport.EngineAgreement(tokens.length, largestDifference, largestLogit, counts, freeRunningKl, RuntimePlatform.current());
    }
}
