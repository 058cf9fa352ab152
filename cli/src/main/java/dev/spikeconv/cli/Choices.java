package dev.spikeconv.cli;

import dev.spikeconv.bench.BenchOptions;
import dev.spikeconv.bench.SyntheticCheckpoint.Dimensions;
import dev.spikeconv.converter.calibration.ThresholdMethod;
import dev.spikeconv.converter.hardware.TargetProfiles;
import dev.spikeconv.converter.plan.LayerPlans;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The values of options that take one of a few words: parsed from lower case, offered in lower case by help and shell
 * completion, and refused with the list of what is accepted. Each nested class serves as an option's {@code converter}
 * and its {@code completionCandidates}.
 */
final class Choices {
    private Choices() {}

    /** An enum option written in lower case. */
    abstract static class LowerCase<E extends Enum<E>> implements ITypeConverter<E>, Iterable<String> {
        private final List<E> offered;

        LowerCase(Class<E> type) {
            this.offered = List.of(type.getEnumConstants());
        }

        @Override
        public E convert(String value) {
            for (E constant : offered) {
                if (name(constant).equals(value.toLowerCase(Locale.ROOT))) {
                    return constant;
                }
            }
            throw new TypeConversionException("expected one of " + String.join(", ", this) + ", found '" + value + "'");
        }

        @Override
        public Iterator<String> iterator() {
            return offered.stream().map(LowerCase::name).iterator();
        }

        private static String name(Enum<?> constant) {
            return constant.name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** Words for which only completion is offered (the engine parses them, and richer forms such as explicit plans). */
    abstract static class Words implements Iterable<String> {
        private final List<String> words;

        Words(Stream<String> words) {
            this.words = words.toList();
        }

        @Override
        public Iterator<String> iterator() {
            return words.iterator();
        }
    }

    enum Quantization {
        INT8,
        NONE
    }

    enum SpikeMode {
        DYNAMIC,
        OFF
    }

    enum Coding {
        TERNARY,
        BITWISE
    }

    enum Layout {
        W8ASPIKE
    }

    enum Transfer {
        FULL,
        DECAY,
        READOUT,
        NONE
    }

    /** The scale section's model sizes, written 7b and 1b. */
    enum ScaleModel {
        SEVEN_B("7b", BenchOptions.SEVEN_B_MODEL),
        ONE_B("1b", BenchOptions.ONE_B_MODEL);

        private final String word;
        private final Dimensions dimensions;

        ScaleModel(String word, Dimensions dimensions) {
            this.word = word;
            this.dimensions = dimensions;
        }

        Dimensions dimensions() {
            return dimensions;
        }
    }

    static final class ScaleModelChoices implements ITypeConverter<ScaleModel>, Iterable<String> {
        @Override
        public ScaleModel convert(String value) {
            for (ScaleModel model : ScaleModel.values()) {
                if (model.word.equals(value.toLowerCase(Locale.ROOT))) {
                    return model;
                }
            }
            throw new TypeConversionException("expected one of " + String.join(", ", this) + ", found '" + value + "'");
        }

        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(ScaleModel.values()).map(model -> model.word).iterator();
        }
    }

    enum WeightType {
        BF16,
        F16,
        F32
    }

    static final class QuantizationChoices extends LowerCase<Quantization> {
        QuantizationChoices() {
            super(Quantization.class);
        }
    }

    static final class SpikeModeChoices extends LowerCase<SpikeMode> {
        SpikeModeChoices() {
            super(SpikeMode.class);
        }
    }

    /** Binary coding is not offered: every projection input is signed, so it would always be refused. */
    static final class CodingChoices extends LowerCase<Coding> {
        CodingChoices() {
            super(Coding.class);
        }
    }

    static final class LayoutChoices extends LowerCase<Layout> {
        LayoutChoices() {
            super(Layout.class);
        }
    }

    static final class TransferChoices extends LowerCase<Transfer> {
        TransferChoices() {
            super(Transfer.class);
        }
    }

    static final class EngineChoices extends LowerCase<EngineOptions.EngineChoice> {
        EngineChoices() {
            super(EngineOptions.EngineChoice.class);
        }
    }

    static final class WeightTypeChoices extends LowerCase<WeightType> {
        WeightTypeChoices() {
            super(WeightType.class);
        }
    }

    static final class PlanNames extends Words {
        PlanNames() {
            super(Stream.concat(LayerPlans.NAMED.stream(), Stream.of("0-3:gla,4:swa/512+4,5:softmax")));
        }
    }

    static final class TargetNames extends Words {
        TargetNames() {
            super(TargetProfiles.shippedIds().stream());
        }
    }

    static final class MethodNames extends Words {
        MethodNames() {
            super(Arrays.stream(ThresholdMethod.Kind.values()).map(kind -> kind == ThresholdMethod.Kind.PERCENTILE ? "percentile:99.9" : kind.id()));
        }
    }
}
