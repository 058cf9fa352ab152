package dev.spikeconv.converter.verify;

import dev.spikeconv.converter.metrics.Divergence;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.formats.model.ModelConfig;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Where the distance comes from, layer by layer: for every layer, the mean KL to the dense model of the dense model with
 * that one layer taken from the bundle (its attention kind, int8 weights and spikes). A layer that costs much alone is
 * the one to keep softmax; layers whose costs add up to less than the bundle's KL compound. Costs about
 * {@code layers²/2} layer passes per token, so verify runs it only when asked.
 */
final class LayerAttribution {
    private LayerAttribution() {}

    /** Mean KL over every position of {@code sequences}, per layer converted alone. */
    static double[] klAlone(ReferenceModel dense, ReferenceModel bundle, List<int[]> sequences, int vocabulary, Consumer<String> progress) {
        int layers = dense.config().layerCount();
        double[] sums = new double[layers];
        long positions = 0;
        for (int s = 0; s < sequences.size(); s++) {
            int[] sequence = sequences.get(s);
            int count = sequence.length;
            progress.accept(String.format(Locale.ROOT, "KL of each layer alone: sequence %d of %d", s + 1, sequences.size()));
            // The dense stream at each layer's input, then the dense logits.
            float[][] inputs = new float[layers][];
            float[] stream = dense.embed(sequence);
            for (int layer = 0; layer < layers; layer++) {
                inputs[layer] = stream.clone();
                dense.runLayer(layer, stream, count);
            }
            float[][] reference = DistanceMeasure.rows(dense.logits(stream, count), count, vocabulary);
            double[] referenceSums = Divergence.logSumExps(reference);
            for (int converted = 0; converted < layers; converted++) {
                float[] branch = inputs[converted];
                inputs[converted] = null;
                bundle.runLayer(converted, branch, count);
                for (int above = converted + 1; above < layers; above++) {
                    dense.runLayer(above, branch, count);
                }
                float[][] candidate = DistanceMeasure.rows(dense.logits(branch, count), count, vocabulary);
                double[] kl = Divergence.kullbackLeiblers(reference, referenceSums, candidate, Divergence.logSumExps(candidate));
                for (double value : kl) {
                    sums[converted] += value;
                }
            }
            positions += count;
        }
        double[] means = new double[layers];
        for (int layer = 0; layer < layers; layer++) {
            means[layer] = positions == 0 ? 0 : sums[layer] / positions;
        }
        return means;
    }

    /** The heap of one sequence's run: a stream per layer, one layer's working set and two sequences' logits. */
    static long bytes(ModelConfig config, int longest) {
        long streams = (long) (config.layerCount() + 1) * longest * config.hiddenSize() * Float.BYTES;
        long logits = 4L * longest * config.vocabularySize() * Float.BYTES;
        return (24L << 20) + streams + ReferenceModel.layerBytes(config, longest) + logits;
    }
}
