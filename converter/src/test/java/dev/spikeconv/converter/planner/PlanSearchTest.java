package dev.spikeconv.converter.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.calibration.CalibrationProgress;
import dev.spikeconv.converter.layers.GatedLinearLayer;
import dev.spikeconv.converter.layers.HybridLayer;
import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.layers.SlidingWindowLayer;
import dev.spikeconv.converter.transfer.TransferOptions;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.testing.CheckpointWriters;
import dev.spikeconv.formats.testing.TinyModel;
import dev.spikeconv.formats.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * plan on a model whose right answers are known by construction: layer 0's heads attend only to their own token (constant
 * queries and keys on RoPE's slowest pair, so large that the phase of one position apart already costs e^-50), layer 1's attention adds nothing
 * (its o_proj is zero), layer 2's heads weigh every past token alike (zero queries).
 */
class PlanSearchTest {
    private static final int SEQUENCE_LENGTH = 32;
    private static final int LOCAL_WINDOW = 4;

    @TempDir
    Path directory;

    private static TinyModel constructed() {
        ModelConfig config = ModelConfig.builder(Architecture.QWEN2).vocabularySize(40).hiddenSize(16).intermediateSize(24).headCount(4)
                .keyValueHeadCount(2).headDimension(4).qkvBias(true).normEpsilon(1e-6).ropeTheta(10000).maxPositions(64).softmaxLayers(3)
                .bosTokenId(1).eosTokenId(2).build(Path.of("constructed"));
        SequencedMap<String, float[]> tensors = new LinkedHashMap<>(TinyModels.random("constructed", config, 11).tensors());
        // Layer 0: q = k = 1000 on channels 1 and 3 of every head (rotate-half RoPE's slowest pair, 0.01 rad a position) whatever
        // the input, so a score is 10^6 cos(0.01 distance): the nearest other key scores 50 less than the query's own.
        Arrays.fill(tensors.get(LayerTensor.QUERY_WEIGHT.name(0)), 0);
        Arrays.fill(tensors.get(LayerTensor.KEY_WEIGHT.name(0)), 0);
        for (LayerTensor bias : new LayerTensor[] {LayerTensor.QUERY_BIAS, LayerTensor.KEY_BIAS}) {
            float[] values = tensors.get(bias.name(0));
            for (int channel = 0; channel < values.length; channel++) {
                values[channel] = channel % 4 == 1 || channel % 4 == 3 ? 1000 : 0;
            }
        }
        Arrays.fill(tensors.get(LayerTensor.OUTPUT_WEIGHT.name(1)), 0);
        Arrays.fill(tensors.get(LayerTensor.QUERY_WEIGHT.name(2)), 0);
        Arrays.fill(tensors.get(LayerTensor.QUERY_BIAS.name(2)), 0);
        return new TinyModel("constructed", config, tensors);
    }

    private PlanOptions options(PlanBudget budget) throws IOException {
        return options(budget, List.of());
    }

    private PlanOptions options(PlanBudget budget, List<SlidingWindowLayer> windows) throws IOException {
        return options(budget, windows, List.of(new GatedLinearLayer()));
    }

    private PlanOptions options(PlanBudget budget, List<SlidingWindowLayer> windows, List<LayerKind> kinds) throws IOException {
        Path source = directory.resolve("model");
        if (!Files.exists(source)) {
            CheckpointWriters.writeSafetensors(constructed(), source, DType.F32, 1);
        }
        SplittableRandom random = new SplittableRandom(5);
        String ids = IntStream.range(0, 12 * SEQUENCE_LENGTH).mapToObj(i -> String.valueOf(random.nextInt(3, 40))).collect(Collectors.joining(" "));
        Path data = Files.writeString(directory.resolve("ids.txt"), ids);
        return new PlanOptions(source, data, null, 8 * SEQUENCE_LENGTH, 4 * SEQUENCE_LENGTH, SEQUENCE_LENGTH, budget, kinds, 4096, windows, 0, LOCAL_WINDOW, 32768, 3,
                TransferOptions.DEFAULT);
    }

    @Test
    void theLayerWhoseAttentionAddsNothingBecomesLinearFirstAtNoCost() throws IOException {
        PlanReport report = PlanSearch.run(options(new PlanBudget.ConvertedLayers(1)), CalibrationProgress.NONE);
        assertThat(report.plan()).isEqualTo("0:swa/4096,1:gla,2:swa/4096");
        assertThat(report.layers().get(1).aloneKullbackLeibler()).isLessThan(1e-9);
        assertThat(report.layers().get(0).aloneKullbackLeibler()).isGreaterThan(1e-4);
        assertThat(report.layers().get(2).aloneKullbackLeibler()).isGreaterThan(1e-4);
        assertThat(report.confirmed().meanKullbackLeibler()).isLessThan(1e-9);
        // the plan computes what the dense model computes, so it keeps every long-range token's probability
        assertThat(report.longRange().positions()).isPositive();
        assertThat(report.confirmed().longRangeNll()).isCloseTo(report.longRange().denseNll(), offset(1e-6));
        // step 0 measures every layer; one GLA layer holds a [kv, d, d] state instead of a window of keys and values
        assertThat(report.steps()).hasSize(2);
        assertThat(report.steps().get(1).candidates()).hasSize(3);
        assertThat(report.steps().get(1).cacheBytes()).isLessThan(report.steps().get(0).cacheBytes());
    }

    @Test
    void localityIsOneForHeadsThatReadTheirOwnTokenAndLowForHeadsThatReadEverything() throws IOException {
        PlanReport report = PlanSearch.run(options(new PlanBudget.ConvertedLayers(1)), CalibrationProgress.NONE);
        assertThat(report.layers().get(0).leastLocalHead()).isGreaterThan(0.999);
        // uniform attention over t + 1 keys keeps min(4, t + 1) / (t + 1) of it inside a window of 4: 0.372 on average over 32 positions
        double uniform = IntStream.range(0, SEQUENCE_LENGTH).mapToDouble(t -> Math.min(LOCAL_WINDOW, t + 1) / (double) (t + 1)).average().orElseThrow();
        assertThat(report.layers().get(2).locality()).isCloseTo(uniform, offset(1e-6));
        assertThat(report.layers().get(2).leastLocalHead()).isCloseTo(uniform, offset(1e-6));
    }

    @Test
    void aKullbackLeiblerTargetStopsBeforeTheFirstLayerThatWouldMissIt() throws IOException {
        PlanReport report = PlanSearch.run(options(new PlanBudget.MaxDivergence(1e-6), List.of(new SlidingWindowLayer(16, 0), new SlidingWindowLayer(8, 0), new SlidingWindowLayer(8, 2))), CalibrationProgress.NONE);
        assertThat(report.plan()).isEqualTo("0:swa/4096,1:gla,2:swa/4096");
        assertThat(report.confirmed().meanKullbackLeibler()).isLessThan(1e-6);
        // layer 2 weighs all 32 past tokens alike: a window of 8 or 16 changes it, so neither is kept
        assertThat(report.windows()).extracting(PlanReport.WindowTrial::window).containsExactly("swa/8", "swa/8+2", "swa/16");
        assertThat(report.windows()).allMatch(trial -> !trial.kept() && trial.meanKullbackLeibler() > 1e-6
                && trial.cacheBytes() < report.confirmed().cacheBytes());
        assertThat(report.window()).isEqualTo(4096);
    }

    @Test
    void aCacheBudgetSetsTheNumberOfConvertedLayers() throws IOException {
        // At context 32768 a layer of window 4096 keeps 4096 keys and values of 2 heads x 4 channels (65,536 values), a GLA layer a
        // 2 x 4 x 4 state (32): three windows take 393,216 bytes in bfloat16, two windows and a state 262,208.
        PlanReport report = PlanSearch.run(options(new PlanBudget.MaxCache(300_000)), CalibrationProgress.NONE);
        assertThat(report.plan()).isEqualTo("0:swa/4096,1:gla,2:swa/4096");
        assertThatThrownBy(() -> PlanSearch.run(options(new PlanBudget.MaxCache(10)), CalibrationProgress.NONE)).isInstanceOf(InvalidOptionException.class)
                .hasMessageContaining("no plan of gla and swa/4096 layers fits 10 bytes");
    }

    /**
     * With hybrids as candidates too, each layer gets the kind its construction calls for. Layer 0's heads read their own
     * token: a hybrid's window of 4 holds it exactly, GLA cannot. Layer 1 costs nothing either way, and GLA saves the whole
     * window where the hybrid keeps 4 keys, so it becomes GLA first (equal KL, larger saving). Layer 2 reads everything.
     */
    @Test
    void eachLayerBecomesTheKindItsAttentionCallsFor() throws IOException {
        PlanReport report = PlanSearch.run(options(new PlanBudget.ConvertedLayers(2), List.of(), List.of(new HybridLayer(4, 0), new GatedLinearLayer())),
                CalibrationProgress.NONE);
        assertThat(report.plan()).isEqualTo("0:hybrid/4,1:gla,2:swa/4096");
        assertThat(report.layers()).allSatisfy(layer -> assertThat(layer.alone()).extracting(PlanReport.Candidate::kind).containsExactly("hybrid/4", "gla"));
        assertThat(report.layers().get(0).alone()).extracting(PlanReport.Candidate::meanKullbackLeibler)
                .satisfiesExactly(hybrid -> assertThat(hybrid).isLessThan(1e-6), linear -> assertThat(linear).isGreaterThan(0.1));
        assertThat(report.layers().get(1).alone()).allSatisfy(candidate -> assertThat(candidate.meanKullbackLeibler()).isLessThan(1e-9));
        assertThat(report.steps()).extracting(PlanReport.SearchStep::addedKind).containsExactly("", "gla", "hybrid/4");
        assertThat(report.confirmed().meanKullbackLeibler()).isLessThan(1e-6);
    }
}
