package dev.spikeconv.cli;

import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code --engine} and {@code --threads}, shared by the commands that run a model. */
final class EngineOptions {
    @Option(names = "--engine", paramLabel = "ENGINE", defaultValue = "onnx", converter = EngineKindConverter.class,
            description = "onnx (ONNX Runtime, CPU) or java (the plain-Java reference). Default: ${DEFAULT-VALUE}.")
    EngineKind engine;

    @Mixin
    ThreadsOption threads;

    OnnxRuntimeOptions onnxRuntimeOptions() {
        return threads.onnxRuntimeOptions();
    }

    static final class EngineKindConverter implements ITypeConverter<EngineKind> {
        @Override
        public EngineKind convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "onnx" -> EngineKind.ONNX;
                case "java" -> EngineKind.JAVA;
                default -> throw new TypeConversionException("expected onnx or java, found '" + value + "'");
            };
        }
    }
}
