package dev.spikeconv.converter.inspect;

import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** The human-readable form of a {@link ModelInspection}. */
public final class ModelInspectionText {
    private ModelInspectionText() {}

    public static String render(ModelInspection inspection, String source, boolean withTensors) {
        ModelConfig config = inspection.config();
        StringBuilder text = new StringBuilder();
        text.append(source).append('\n');
        row(text, "format", inspection.format());
        row(text, "architecture", config.architecture().id());
        row(text, "parameters", String.format(Locale.ROOT, "%,d (%s)", inspection.parameters(), humanBytes(inspection.bytes())));
        row(text, "vocabulary", String.valueOf(config.vocabularySize()));
        row(text, "hidden size", String.valueOf(config.hiddenSize()));
        row(text, "intermediate", String.valueOf(config.intermediateSize()));
        row(text, "layers", String.valueOf(config.layerCount()));
        row(text, "heads", String.format(Locale.ROOT, "%d query, %d key/value (group %d), head dim %d",
                config.headCount(), config.keyValueHeadCount(), config.groupSize(), config.headDimension()));
        row(text, "rope", String.format(Locale.ROOT, "theta %s, scaling %s", number(config.ropeTheta()), config.ropeScaling().kind().name().toLowerCase(Locale.ROOT)));
        row(text, "rms norm eps", number(config.normEpsilon()));
        row(text, "context", config.maxPositions() == 0 ? "unspecified" : String.valueOf(config.maxPositions()));
        row(text, "biases", biases(config));
        row(text, "q/k norm", config.qkNorm() ? "yes" : "no");
        row(text, "embeddings", config.tiedEmbeddings() ? "tied to the output head" : "separate output head");
        row(text, "attention", attentionSummary(config.layers()));
        ModelInspection.BundleState bundle = inspection.bundle();
        if (bundle != null) {
            row(text, "bundle", "spikeconv plan " + bundle.plan() + "; weights " + bundle.quantization() + "; spikes " + bundle.spikeMode());
            row(text, "calibration", !bundle.calibrated() ? "none yet" + untrained(config)
                    : String.format(Locale.ROOT, "method %s%s%s, %d threshold tensor(s)", bundle.calibrationMethod(),
                            bundle.calibrationTokens() != null ? " on " + bundle.calibrationTokens() + " tokens" : "",
                            bundle.attentionTransfer() ? ", attention transfer" : "", bundle.thresholdTensors()));
        }
        if (!inspection.unusedTensors().isEmpty()) {
            row(text, "unused", inspection.unusedTensors().size() + " tensor(s) not part of the model: " + firstNames(inspection.unusedTensors(), 4));
        }
        if (withTensors) {
            text.append('\n');
            int nameWidth = inspection.tensors().stream().mapToInt(tensor -> tensor.name().length()).max().orElse(4);
            text.append(String.format(Locale.ROOT, "%-" + nameWidth + "s  %-7s  %-16s  %s%n", "tensor", "dtype", "shape", "bytes"));
            for (ModelInspection.TensorRow tensor : inspection.tensors()) {
                text.append(String.format(Locale.ROOT, "%-" + nameWidth + "s  %-7s  %-16s  %,d%n",
                        tensor.name(), tensor.dtype(), Arrays.toString(tensor.shape()), tensor.bytes()));
            }
        }
        return text.toString();
    }

    /** Runs of equal layers: "0-4 softmax" or "0,2,4 gla; 1,3 swa/4096". */
    public static String attentionSummary(List<LayerAttention> layers) {
        List<String> runs = new ArrayList<>();
        int start = 0;
        for (int i = 1; i <= layers.size(); i++) {
            if (i == layers.size() || !layers.get(i).equals(layers.get(start))) {
                runs.add((i - start == 1 ? String.valueOf(start) : start + "-" + (i - 1)) + " " + layers.get(start));
                start = i;
            }
        }
        return String.join(", ", runs);
    }

    /** What calibrate would fit that a conversion leaves untrained, as a note after "none yet". */
    private static String untrained(ModelConfig config) {
        if (config.layers().stream().anyMatch(layer -> layer.kind().decayGate())) {
            return " (its GLA layers are untrained: run spikeconv calibrate)";
        }
        if (config.layers().stream().anyMatch(layer -> layer.kind().linearFeatures())) {
            return " (its hybrid layers are their sliding windows until spikeconv calibrate weighs their older keys)";
        }
        return "";
    }

    private static String biases(ModelConfig config) {
        List<String> biases = new ArrayList<>();
        if (config.qkvBias()) {
            biases.add("q/k/v");
        }
        if (config.outputProjectionBias()) {
            biases.add("o");
        }
        if (config.mlpBias()) {
            biases.add("mlp");
        }
        return biases.isEmpty() ? "none" : String.join(", ", biases);
    }

    private static String firstNames(List<String> names, int count) {
        return names.size() <= count ? String.join(", ", names) : String.join(", ", names.subList(0, count)) + ", ...";
    }

    private static void row(StringBuilder text, String label, String value) {
        text.append(String.format(Locale.ROOT, "  %-13s %s%n", label, value));
    }

    private static String number(double value) {
        return value == Math.rint(value) && Math.abs(value) < 1e15 ? String.valueOf((long) value) : String.valueOf(value);
    }

    public static String humanBytes(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.2f %s", value, units[unit]);
    }
}
