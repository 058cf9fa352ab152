package dev.spikeconv.bench;

import dev.spikeconv.bench.SyntheticCheckpoint.Dimensions;
import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.bundle.QuantizationOptions;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.formats.model.SpikeSettings;
import dev.spikeconv.formats.tensor.DType;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Everything {@code spikeconv bench} measures, as plain values.
 *
 * @param workFolder where generated checkpoints and bundles go; null for a temporary folder removed afterwards
 * @param convertBytes size of the generated checkpoint the convert section converts
 * @param contextModel the dense model the context and passes sections generate and convert
 * @param quantization how every conversion quantizes (convert's defaults unless chosen)
 * @param spikes how every conversion spikes
 * @param prefillChunk tokens per ONNX Runtime call during prefill; every model is prefilled the same way
 * @param scaleModel the checkpoint the scale section generates
 * @param scaleTokens calibration tokens of the scale section
 */
public record BenchOptions(
        Path workFolder,
        Set<BenchSection> sections,
        long convertBytes,
        DType convertDtype,
        Dimensions convertWidth,
        Dimensions contextModel,
        List<Integer> contexts,
        List<String> plans,
        int window,
        QuantizationOptions quantization,
        SpikeSettings spikes,
        int prefillChunk,
        int decodeTokens,
        int repeats,
        int passTokens,
        int passSequenceLength,
        OnnxRuntimeOptions runtime,
        long seed,
        Dimensions scaleModel,
        int scaleTokens) {
    /** convert's defaults: dynamic ternary spikes with k 3. */
    public static final SpikeSettings DEFAULT_SPIKES = new SpikeSettings(SpikeSettings.Mode.DYNAMIC, 3, SpikeSettings.MAX_TIME_STEPS,
            SpikeSettings.Coding.TERNARY, List.of());

    /** The scale section's 7B-class model: Llama-2-7B's shape with 8 key/value heads (SpikingBrain's base is Qwen2.5-7B): 5.9B parameters, 11.9 GB in bf16. */
    public static final Dimensions SEVEN_B_MODEL = new Dimensions(4096, 11008, 32, 32, 8, 32000);
    /** A 1B-class model for quicker checks (1.0B parameters). */
    public static final Dimensions ONE_B_MODEL = new Dimensions(2048, 5632, 20, 32, 4, 32000);

    /** Llama-7B proportions at {@code hidden}: intermediate 2.6875×, heads of 128, vocabulary 32000; layers follow from the size asked for. */
    public static Dimensions convertWidth(int hidden) {
        if (hidden < 2 || hidden % 2 != 0) {
            throw new InvalidOptionException("convert-hidden", "must be even and at least 2, found " + hidden);
        }
        int heads = hidden % 128 == 0 ? hidden / 128 : 1;
        return new Dimensions(hidden, hidden * 43 / 16, 1, heads, heads, 32000);
    }

    public BenchOptions {
        sections = Set.copyOf(sections);
        contexts = List.copyOf(contexts);
        plans = List.copyOf(plans);
        if (sections.isEmpty()) {
            throw new InvalidOptionException("sections", "choose at least one bench section");
        }
        if (convertBytes < 1 << 20) {
            throw new InvalidOptionException("convert-size", "must be at least 1MiB");
        }
        if (contexts.isEmpty() || contexts.stream().anyMatch(length -> length < 1)) {
            throw new InvalidOptionException("contexts", "must list positive lengths");
        }
        atLeast("window", window, 1);
        atLeast("prefill-chunk", prefillChunk, 1);
        atLeast("decode-tokens", decodeTokens, 1);
        atLeast("repeats", repeats, 1);
        atLeast("pass-tokens", passTokens, 2);
        atLeast("pass-seq-len", passSequenceLength, 2);
        atLeast("scale-tokens", scaleTokens, 2);
    }

    private static void atLeast(String option, int value, int minimum) {
        if (value < minimum) {
            throw new InvalidOptionException(option, "must be at least " + minimum + ", found " + value);
        }
    }
}
