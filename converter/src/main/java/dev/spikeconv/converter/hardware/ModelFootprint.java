package dev.spikeconv.converter.hardware;

import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.OpFamily;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a model asks of hardware, target-independently: per layer its attention and projections (op
 * family, packing, spiking), and the model's weight bytes and per-token operation counts.
 */
public record ModelFootprint(ModelConfig config, List<LayerNeeds> layers, long weightBytes, int timeSteps, long maxStaticThreshold) {
    static final List<LayerTensor> PROJECTIONS = List.of(LayerTensor.QUERY_WEIGHT, LayerTensor.KEY_WEIGHT, LayerTensor.VALUE_WEIGHT,
            LayerTensor.OUTPUT_WEIGHT, LayerTensor.MLP_GATE_WEIGHT, LayerTensor.MLP_UP_WEIGHT, LayerTensor.MLP_DOWN_WEIGHT);

    /** One projection: its op family, int8 group (0 when float), shape and whether its input spikes. */
    public record Projection(String name, OpFamily family, int bits, int group, long outputs, long inputs, long bytes, boolean spiking) {}

    /** One layer: attention and projections. */
    public record LayerNeeds(int index, LayerKind kind, List<Projection> projections) {
        /** The op family of the layer's token mixing. */
        public List<OpFamily> attentionFamilies() {
            return kind.opFamilies();
        }
    }

    public static ModelFootprint of(ModelDescription model) {
        ModelConfig config = model.config();
        SpikeSettings spike = config.spike();
        List<LayerNeeds> layers = new ArrayList<>();
        for (int index = 0; index < config.layerCount(); index++) {
            List<Projection> projections = new ArrayList<>();
            for (LayerTensor tensor : PROJECTIONS) {
                String name = tensor.name(index);
                TensorView weight = model.tensor(name);
                String site = name.substring(0, name.length() - ".weight".length());
                boolean spiking = spike.spikes(site);
                boolean int8 = weight instanceof ScaledInt8Tensor;
                OpFamily family = spiking && int8 ? OpFamily.INT8_SPIKE_GEMM : int8 ? OpFamily.INT8_GEMM : OpFamily.FLOAT_GEMM;
                int group = int8 ? Math.min(((ScaledInt8Tensor) weight).groupSize(), (int) weight.shape().columns()) : 0;
                projections.add(new Projection(site.substring(site.lastIndexOf('.') + 1), family, int8 ? 8 : 32, group,
                        weight.shape().dimension(0), weight.shape().dimension(1), weight.byteSize(), spiking));
            }
            layers.add(new LayerNeeds(index, LayerKind.of(config, index), projections));
        }
        long weightBytes = model.storedBytes() + model.extraTensors().values().stream().mapToLong(TensorView::byteSize).sum();
        long maxThreshold = 0;
        for (var entry : model.extraTensors().entrySet()) {
            if (entry.getKey().endsWith(".spike_threshold_int")) {
                for (float value : entry.getValue().toFloats()) {
                    maxThreshold = Math.max(maxThreshold, (long) Math.abs(value));
                }
            }
        }
        return new ModelFootprint(config, layers, weightBytes, timeSteps(spike), maxThreshold);
    }

    /** Time steps a spike count needs on the wire: T for unit spikes, the bits of T for bitwise coding, 0 without spikes. */
    public static int timeSteps(SpikeSettings spike) {
        if (!spike.spiking()) {
            return 0;
        }
        return switch (spike.coding()) {
            case BINARY, TERNARY -> spike.timeSteps();
            case BITWISE -> 32 - Integer.numberOfLeadingZeros(spike.timeSteps());
        };
    }

    /** Every op family the model needs. */
    public Set<OpFamily> families() {
        Set<OpFamily> families = new LinkedHashSet<>(List.of(OpFamily.EMBEDDING, OpFamily.RMS_NORM, OpFamily.HEAD));
        for (LayerNeeds layer : layers) {
            families.addAll(layer.attentionFamilies());
            if (layer.kind().attention().kind().rotary()) {
                families.add(OpFamily.ROPE);
            }
            layer.projections().forEach(projection -> families.add(projection.family()));
        }
        return families;
    }
}
