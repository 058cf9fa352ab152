package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.converter.metrics.Divergence;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.converter.onnx.RuntimePlatform;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.converter.reference.SpikingSiteHooks;
import dev.spikeconv.converter.spiking.SiteThreshold;
import dev.spikeconv.converter.spiking.SpikeSites;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import java.io.IOException;
import java.nio.file.Path;
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
 * The graph runs a layer at a time, each layer's own nodes in a session of their own ({@link OnnxRuntimeEngine#runSlice}),
 * the Java engine beside it on that layer's counts: memory holds one layer's weights, whatever the model's size.
 * Optionally also the mean KL of the two free-running spiking engines, which grows with depth.
 */
public final class EngineAgreementCheck {
    private EngineAgreementCheck() {}

    /** {@code graph} is the bundle's own graph, its data files in {@code folder}. */
    public static VerifyReport.EngineAgreement measure(ModelDescription bundle, ModelProto graph, Path folder, OnnxRuntimeOptions options, int[] tokens,
            boolean freeRunning) throws IOException {
        ModelConfig config = bundle.config();
        List<String> sites = config.spike().spiking() ? SpikeSites.spikingSites(config) : List.of();
        SequencedMap<String, SiteThreshold> thresholds = SpikeSites.thresholds(bundle);
        List<SpikeCountAgreement> counts = new ArrayList<>();
        ReferenceModel reference = ReferenceModel.load(bundle);
        float[][] onnxStream = OnnxRuntimeEngine.runSlice(graph, folder, config, options, "", null, tokens, List.of(DecoderGraphWriter.EMBEDDINGS))
                .get(DecoderGraphWriter.EMBEDDINGS);
        float[] javaStream = reference.embed(tokens);
        for (int layer = 0; layer < config.layerCount(); layer++) {
            String prefix = "model.layers." + layer + ".";
            List<String> layerSites = sites.stream().filter(site -> site.startsWith(prefix)).toList();
            List<String> traced = new ArrayList<>(List.of(DecoderGraphWriter.hiddenStates(layer)));
            for (String site : layerSites) {
                traced.add(DecoderGraphWriter.projectionInput(site));
                traced.add(DecoderGraphWriter.spikeCounts(site));
            }
            String start = layer == 0 ? DecoderGraphWriter.EMBEDDINGS : DecoderGraphWriter.hiddenStates(layer - 1);
            Map<String, float[][]> values = OnnxRuntimeEngine.runSlice(graph, folder, config, options, start, onnxStream, tokens, traced);
            for (String site : layerSites) {
                counts.add(SpikeCountAgreement.of(site, thresholds.get(site), config.spike().timeSteps(), values.get(DecoderGraphWriter.projectionInput(site)),
                        values.get(DecoderGraphWriter.spikeCounts(site))));
            }
            reference.runLayer(layer, javaStream, tokens.length, SpikingSiteHooks.forcing(site -> values.get(DecoderGraphWriter.spikeCounts(site))));
            onnxStream = values.get(DecoderGraphWriter.hiddenStates(layer));
        }
        float[][] onnxLogits = OnnxRuntimeEngine.runSlice(graph, folder, config, options, DecoderGraphWriter.hiddenStates(config.layerCount() - 1), onnxStream,
                tokens, List.of(DecoderGraphWriter.LOGITS)).get(DecoderGraphWriter.LOGITS);
        float[][] shared = DistanceMeasure.rows(reference.logits(javaStream, tokens.length), tokens.length, config.vocabularySize());
        Double freeRunningKl = null;
        if (freeRunning && !sites.isEmpty()) {
            try (InferenceSession session = reference.newSession()) {
                freeRunningKl = Divergence.meanKullbackLeibler(session.forward(tokens), onnxLogits);
            }
        }
        double largestDifference = 0;
        double largestLogit = 0;
        for (int t = 0; t < tokens.length; t++) {
            for (int v = 0; v < shared[t].length; v++) {
                double difference = Math.abs(shared[t][v] - onnxLogits[t][v]);
                largestDifference = Math.max(largestDifference, Double.isNaN(difference) ? Double.POSITIVE_INFINITY : difference);
                largestLogit = Math.max(largestLogit, Math.abs(onnxLogits[t][v]));
            }
        }
        return new VerifyReport.EngineAgreement(tokens.length, largestDifference, largestLogit, counts, freeRunningKl, RuntimePlatform.current());
    }
}
