package dev.spikeconv.converter.plan;

import dev.spikeconv.formats.model.LayerAttention;
import java.util.List;

/** Which attention each layer of the converted model gets, and the plan text it came from (recorded in config.json). */
public record LayerPlan(String name, List<LayerAttention> layers) {
    public LayerPlan {
        layers = List.copyOf(layers);
    }
}
