package dev.spikeconv.converter.engines;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.converter.execution.EngineKind;
import dev.spikeconv.converter.execution.InferenceEngine;
import dev.spikeconv.converter.onnx.DecoderGraphWriter;
import dev.spikeconv.converter.onnx.ExternalWeightCheck;
import dev.spikeconv.converter.onnx.OnnxRuntimeEngine;
import dev.spikeconv.converter.onnx.OnnxRuntimeOptions;
import dev.spikeconv.converter.reference.ReferenceModel;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.Architecture;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Opens a model on the engine of choice. */
public final class Engines {
    /**
     * The most a checkpoint other than a bundle may take as float32 in an ONNX Runtime session: its graph casts
     * stored weights (bf16, f16, dequantized GGUF blocks) to float32 when the session loads, and a 7B model's copy
     * (27 GB) does not fit the machines spikeconv is for. The Java engine reads them as stored at any size.
     */
    public static final long MAX_FLOAT_SESSION_BYTES = 8L << 30;

    private Engines() {}

    /**
     * The engine that runs {@code model} (at {@code path}) within its size: ONNX Runtime while it holds the weights as
     * folded floats (a bundle's int8 weights within the options' fold limit, another checkpoint's floats within
     * {@link #MAX_FLOAT_SESSION_BYTES}); beyond that the Java engine, which reads the weights as stored. ONNX Runtime
     * keeps a large bundle's weights int8 and dequantizes them on every run: a 5.9B bundle's `generate` reached 22 GiB of
     * anonymous memory and was killed, where the Java engine held 0.5 GiB (docs/engines.md).
     */
    public static EngineKind automatic(ModelDescription model, Path path, OnnxRuntimeOptions options) {
        boolean bundle = model.config().architecture() == Architecture.GLA_SWA && Files.isRegularFile(path.resolve(DecoderGraphWriter.MODEL_FILE));
        if (bundle) {
            long int8Weights = model.tensors().values().stream().filter(ScaledInt8Tensor.class::isInstance).mapToLong(tensor -> tensor.shape().elementCount())
                    .sum();
            return options.folds(int8Weights) ? EngineKind.ONNX : EngineKind.JAVA;
        }
        long floatBytes = model.tensors().values().stream().mapToLong(tensor -> tensor.shape().elementCount()).sum() * Float.BYTES;
        return floatBytes > MAX_FLOAT_SESSION_BYTES ? EngineKind.JAVA : EngineKind.ONNX;
    }

    /** Runs {@code model} as described, writing a fresh ONNX graph for the ONNX engine. */
    public static InferenceEngine open(ModelDescription model, EngineKind kind, OnnxRuntimeOptions options) throws IOException {
        return switch (kind) {
            case ONNX -> OnnxRuntimeEngine.export(model, options);
            case JAVA -> ReferenceModel.load(model);
        };
    }

    /**
     * A bundle runs its own {@code model.onnx} on ONNX Runtime; any other checkpoint gets a graph from
     * {@link OnnxRuntimeEngine#export}: built in memory over its files, or written into a temporary folder.
     */
    public static InferenceEngine open(ModelDescription model, Path path, EngineKind kind, OnnxRuntimeOptions options) throws IOException {
        return switch (kind) {
            case ONNX -> {
                Path graph = path.resolve(DecoderGraphWriter.MODEL_FILE);
                if (model.config().architecture() == Architecture.GLA_SWA && Files.isDirectory(path) && Files.isRegularFile(graph)) {
                    // The graph reads the bundle's safetensors by offset: refuse to run it on bytes that moved.
                    List<String> problems = ExternalWeightCheck.problems(graph);
                    if (!problems.isEmpty()) {
                        throw InvalidInputException.forFile(path, problems.getFirst());
                    }
                    yield OnnxRuntimeEngine.open(graph, model.config(), options);
                }
                long floatBytes = model.tensors().values().stream().mapToLong(tensor -> tensor.shape().elementCount()).sum() * Float.BYTES;
                if (floatBytes > MAX_FLOAT_SESSION_BYTES) {
                    throw new InvalidOptionException("engine", String.format(Locale.ROOT, "onnx would hold this checkpoint as float32 in ONNX Runtime "
                            + "(%.1f GiB, more than %d GiB); choose java, which reads the weights as stored, or convert it to a bundle (int8)",
                            floatBytes / (double) (1L << 30), MAX_FLOAT_SESSION_BYTES >> 30));
                }
                yield OnnxRuntimeEngine.export(model, options);
            }
            case JAVA -> ReferenceModel.load(model);
        };
    }
}
