package dev.spikeconv.converter.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.formats.model.LayerAttention;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.testing.TinyModels;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class LayerPlansTest {
    private static final ModelConfig SIX_LAYERS = TinyModels.llama().config().toBuilder().softmaxLayers(6).build(Path.of("six"));
    private static final LayerAttention GLA = LayerAttention.gatedLinear();

    @Test
    void namedPlans() {
        assertThat(LayerPlans.parse("spikingbrain", 99, 0, SIX_LAYERS).layers()).containsExactly(
                GLA, LayerAttention.slidingWindow(4096, 0), GLA, LayerAttention.slidingWindow(4096, 0), GLA, LayerAttention.slidingWindow(4096, 0));
        assertThat(LayerPlans.parse("alternate", 512, 4, SIX_LAYERS).layers().get(1)).isEqualTo(LayerAttention.slidingWindow(512, 4));
        assertThat(LayerPlans.parse("all-gla", 512, 0, SIX_LAYERS).layers()).containsOnly(GLA).hasSize(6);
        assertThat(LayerPlans.parse("all-swa", 64, 2, SIX_LAYERS).layers()).containsOnly(LayerAttention.slidingWindow(64, 2));
        assertThat(LayerPlans.parse("dense", 64, 2, SIX_LAYERS).layers()).isEqualTo(Collections.nCopies(6, LayerAttention.softmax()));
        ModelConfig mistral = TinyModels.mistral().config();
        assertThat(LayerPlans.parse("dense", 64, 0, mistral).layers()).isEqualTo(mistral.layers());
    }

    @Test
    void anExplicitPlanWrittenFromLayersParsesBackToThem() {
        List<LayerAttention> layers = List.of(GLA, LayerAttention.slidingWindow(512, 4), LayerAttention.slidingWindow(512, 4), GLA,
                LayerAttention.hybrid(64, 4), LayerAttention.softmax());
        String written = LayerPlans.explicit(layers);
        assertThat(written).isEqualTo("0:gla,1-2:swa/512+4,3:gla,4:hybrid/64+4,5:softmax");
        assertThat(LayerPlans.parse(written, 99, 9, SIX_LAYERS).layers()).isEqualTo(layers);
        assertThat(LayerPlans.explicit(Collections.nCopies(6, GLA))).isEqualTo("0-5:gla");
    }

    @Test
    void explicitPlanNamesEveryLayerOnce() {
        LayerPlan plan = LayerPlans.parse("0-2:gla, 3:swa/512+4,4:softmax,5:swa", 256, 1, SIX_LAYERS);
        assertThat(plan.layers()).containsExactly(GLA, GLA, GLA, LayerAttention.slidingWindow(512, 4), LayerAttention.softmax(),
                LayerAttention.slidingWindow(256, 1));
        assertThat(plan.name()).isEqualTo("0-2:gla, 3:swa/512+4,4:softmax,5:swa");
        assertThat(LayerPlans.parse("0:hybrid/64+4,1:hybrid,2-5:swa", 128, 2, SIX_LAYERS).layers()).startsWith(LayerAttention.hybrid(64, 4),
                LayerAttention.hybrid(128, 2), LayerAttention.slidingWindow(128, 2));
    }

    @Test
    void impossiblePlansSayWhy() {
        assertThatThrownBy(() -> LayerPlans.parse("fancy", 64, 0, SIX_LAYERS)).hasMessageContaining("unknown plan 'fancy'");
        assertThatThrownBy(() -> LayerPlans.parse("0-3:gla,3-5:softmax", 64, 0, SIX_LAYERS)).hasMessageContaining("names layer 3 twice");
        assertThatThrownBy(() -> LayerPlans.parse("0-3:gla,5:softmax", 64, 0, SIX_LAYERS)).hasMessageContaining("does not name layer(s) [4]");
        assertThatThrownBy(() -> LayerPlans.parse("0-6:gla", 64, 0, SIX_LAYERS)).hasMessageContaining("the model has layers 0-5");
        assertThatThrownBy(() -> LayerPlans.parse("0-5:gla/16", 64, 0, SIX_LAYERS)).hasMessageContaining("only windowed kinds (swa, hybrid) take a window");
        assertThatThrownBy(() -> LayerPlans.parse("3-1:gla", 64, 0, SIX_LAYERS)).hasMessageContaining("is empty");
        assertThatThrownBy(() -> LayerPlans.parse("0-5:swa/0", 64, 0, SIX_LAYERS)).hasMessageContaining("at least 1");
        assertThatThrownBy(() -> LayerPlans.parse("0-5:hybrid/0", 64, 0, SIX_LAYERS)).hasMessageContaining("at least 1");
        assertThatThrownBy(() -> LayerPlans.parse("all-swa", 0, 0, SIX_LAYERS)).isInstanceOf(InvalidOptionException.class)
                .extracting(error -> ((InvalidOptionException) error).option()).isEqualTo("window");
        assertThat(List.of()).isEmpty();
    }
}
