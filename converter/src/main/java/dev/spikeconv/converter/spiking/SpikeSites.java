package dev.spikeconv.converter.spiking;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.TensorView;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The spiking projection sites of a model and the threshold of each. Calibrated values live beside the
 * weights (docs/design.md §4): {@code <site>.spike_threshold_int} (I32, {@code [1]} or {@code [in]}) and
 * {@code <site>.spike_threshold_exp} (I32) for static thresholds, and {@code <site>.spike_k} (F32
 * {@code [1]}) for a dynamic threshold calibrated per site; without it a site uses the config's k.
 */
public final class SpikeSites {
    public static final String THRESHOLD_INTEGER_SUFFIX = ".spike_threshold_int";
    public static final String THRESHOLD_EXPONENT_SUFFIX = ".spike_threshold_exp";
    public static final String K_SUFFIX = ".spike_k";
    /** Projections in the order a layer runs them. */
    public static final List<LayerTensor> PROJECTIONS = List.of(LayerTensor.QUERY_WEIGHT, LayerTensor.KEY_WEIGHT, LayerTensor.VALUE_WEIGHT,
            LayerTensor.OUTPUT_WEIGHT, LayerTensor.MLP_GATE_WEIGHT, LayerTensor.MLP_UP_WEIGHT, LayerTensor.MLP_DOWN_WEIGHT);

    private SpikeSites() {}

    /** The site (module name) of a projection weight: {@code model.layers.0.self_attn.q_proj}. */
    public static String site(LayerTensor projection, int layer) {
        String name = projection.name(layer);
        return name.substring(0, name.length() - ".weight".length());
    }

    /** Every projection site whose input spikes under {@code config}, layer by layer. */
    public static List<String> spikingSites(ModelConfig config) {
        List<String> sites = new ArrayList<>();
        for (int layer = 0; layer < config.layerCount(); layer++) {
            for (LayerTensor projection : PROJECTIONS) {
                String site = site(projection, layer);
                if (config.spike().spikes(site)) {
                    sites.add(site);
                }
            }
        }
        return sites;
    }

    /**
     * The spiking sites grouped by the activations they read: a layer's query, key and value projections all read its
     * normalized input, the MLP's gate and up projections the normalized residual. Statistics of a group are gathered
     * once. In {@link #spikingSites} order; each group keeps the order of {@link #PROJECTIONS}.
     */
    public static List<List<String>> sharedInputGroups(ModelConfig config) {
        List<List<LayerTensor>> groups = List.of(List.of(LayerTensor.QUERY_WEIGHT, LayerTensor.KEY_WEIGHT, LayerTensor.VALUE_WEIGHT),
                List.of(LayerTensor.OUTPUT_WEIGHT), List.of(LayerTensor.MLP_GATE_WEIGHT, LayerTensor.MLP_UP_WEIGHT), List.of(LayerTensor.MLP_DOWN_WEIGHT));
        List<List<String>> shared = new ArrayList<>();
        for (int layer = 0; layer < config.layerCount(); layer++) {
            for (List<LayerTensor> group : groups) {
                List<String> sites = new ArrayList<>();
                for (LayerTensor projection : group) {
                    String site = site(projection, layer);
                    if (config.spike().spikes(site)) {
                        sites.add(site);
                    }
                }
                if (!sites.isEmpty()) {
                    shared.add(List.copyOf(sites));
                }
            }
        }
        return shared;
    }

    /** Every spiking site with its threshold; a static model missing a site's tensors is an input error. */
    public static SequencedMap<String, SiteThreshold> thresholds(ModelDescription model) {
        SequencedMap<String, SiteThreshold> thresholds = new LinkedHashMap<>();
        for (String site : spikingSites(model.config())) {
            thresholds.put(site, threshold(model, site));
        }
        return thresholds;
    }

    /** The threshold of one spiking site. */
    public static SiteThreshold threshold(ModelDescription model, String site) {
        SpikeSettings spike = model.config().spike();
        Map<String, TensorView> extra = model.extraTensors();
        Path source = source(model);
        return switch (spike.mode()) {
            case OFF -> throw new IllegalArgumentException(site + " does not spike: the model's spike mode is off");
            case DYNAMIC -> {
                TensorView k = extra.get(site + K_SUFFIX);
                if (k == null) {
                    yield new SiteThreshold.Dynamic((float) spike.k());
                }
                float[] values = readSmall(k, source, 1, DType.F32);
                if (!(values[0] > 0) || !Float.isFinite(values[0])) {
                    throw InvalidInputException.forField(source, k.name(), "a positive, finite k", values[0]);
                }
                yield new SiteThreshold.Dynamic(values[0]);
            }
            case STATIC -> {
                TensorView integers = extra.get(site + THRESHOLD_INTEGER_SUFFIX);
                TensorView exponent = extra.get(site + THRESHOLD_EXPONENT_SUFFIX);
                if (integers == null || exponent == null) {
                    throw InvalidInputException.forFile(source, "spike mode is static but " + site + " has no "
                            + (integers == null ? THRESHOLD_INTEGER_SUFFIX.substring(1) : THRESHOLD_EXPONENT_SUFFIX.substring(1)) + " tensor");
                }
                int inputs = (int) model.tensor(site + ".weight").shape().columns();
                float[] integerValues = readSmall(integers, source, inputs, DType.I32);
                if (integerValues.length != 1 && integerValues.length != inputs) {
                    throw InvalidInputException.forField(source, integers.name() + " shape", "[1] or [" + inputs + "]", integers.shape());
                }
                float exponentValue = readSmall(exponent, source, 1, DType.I32)[0];
                int[] values = new int[integerValues.length];
                for (int i = 0; i < values.length; i++) {
                    if (!(integerValues[i] >= 1 && integerValues[i] <= SiteThreshold.MAX_INTEGER)) {
                        throw InvalidInputException.forField(source, integers.name(), "integers in [1, " + SiteThreshold.MAX_INTEGER + "]", integerValues[i]);
                    }
                    values[i] = (int) integerValues[i];
                }
                try {
                    yield new SiteThreshold.Static(values, (int) exponentValue);
                }
                catch (IllegalArgumentException e) {
                    throw InvalidInputException.forField(source, exponent.name(), "an exponent that keeps thresholds in float32's normal range", exponentValue);
                }
            }
        };
    }

    private static float[] readSmall(TensorView tensor, Path source, int maximumElements, DType type) {
        if (tensor.dtype() != type) {
            throw InvalidInputException.forField(source, tensor.name() + " dtype", type.name(), tensor.dtype());
        }
        long elements = tensor.shape().elementCount();
        if (elements < 1 || elements > maximumElements || tensor.shape().rank() > 1) {
            throw InvalidInputException.forField(source, tensor.name() + " shape", maximumElements == 1 ? "[] or [1]" : "[1] or [" + maximumElements + "]",
                    tensor.shape());
        }
        return tensor.toFloats();
    }

    private static Path source(ModelDescription model) {
        return model.files().isEmpty() ? Path.of("model") : model.files().getFirst();
    }
}
