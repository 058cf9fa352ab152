package dev.spikeconv.formats.model;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.TensorView;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * A model as every reader presents it: normalized hyper-parameters and the canonical tensors as
 * lazy views of the mapped files. Closing it unmaps the files.
 */
public final class ModelDescription implements AutoCloseable {
    private final CheckpointFormat format;
    private final ModelConfig config;
    private final SequencedMap<String, TensorView> tensors;
    private final SequencedMap<String, TensorView> extraTensors;
    private final List<Path> files;
    private final List<AutoCloseable> resources;

    private ModelDescription(CheckpointFormat format, ModelConfig config, SequencedMap<String, TensorView> tensors,
            SequencedMap<String, TensorView> extraTensors, List<Path> files, List<AutoCloseable> resources) {
        this.format = format;
        this.config = config;
        this.tensors = Collections.unmodifiableSequencedMap(tensors);
        this.extraTensors = Collections.unmodifiableSequencedMap(extraTensors);
        this.files = List.copyOf(files);
        this.resources = List.copyOf(resources);
    }

    /**
     * Checks {@code tensors} (by canonical name) against what {@code config} requires: every required
     * tensor present with its exact shape and a usable type. Tensors the config does not use are kept
     * by name only. On failure the resources are closed and an input error names {@code source}.
     */
    public static ModelDescription assemble(CheckpointFormat format, ModelConfig config, Map<String, ? extends TensorView> tensors,
            List<Path> files, List<? extends AutoCloseable> resources, Path source) {
        try {
            SequencedMap<String, TensorView> ordered = new LinkedHashMap<>();
            List<String> missing = new ArrayList<>();
            for (Map.Entry<String, Shape> expected : TensorNames.expected(config).entrySet()) {
                TensorView tensor = tensors.get(expected.getKey());
                if (tensor == null) {
                    missing.add(expected.getKey());
                    continue;
                }
                if (!tensor.shape().equals(expected.getValue())) {
                    throw InvalidInputException.forField(source, expected.getKey() + " shape",
                            expected.getValue() + " from the model config", tensor.shape());
                }
                checkType(tensor, source);
                ordered.put(expected.getKey(), tensor);
            }
            if (!missing.isEmpty()) {
                throw InvalidInputException.forFile(source, "missing " + missing.size() + " tensor(s) the config requires: " + summarize(missing));
            }
            // torch.save keeps a tied head as a second view of the embedding; the config decides, so it is not "unused".
            SequencedMap<String, TensorView> extra = new LinkedHashMap<>();
            tensors.keySet().stream()
                    .filter(name -> !ordered.containsKey(name))
                    .filter(name -> !(config.tiedEmbeddings() && name.equals(TensorNames.LM_HEAD)))
                    .sorted()
                    .forEach(name -> extra.put(name, tensors.get(name)));
            return new ModelDescription(format, config, ordered, extra, files, new ArrayList<>(resources));
        }
        catch (RuntimeException e) {
            closeAll(resources, e);
            throw e;
        }
    }

    /**
     * This model under {@code newConfig} with some tensors replaced or added, by canonical name (checked
     * as {@link #assemble} checks a file). It shares this model's mapped files: it is valid while this
     * model is open, and closing it releases nothing.
     */
    public ModelDescription derive(ModelConfig newConfig, Map<String, ? extends TensorView> replacements) {
        Map<String, TensorView> all = new LinkedHashMap<>(tensors);
        all.putAll(extraTensors);
        all.putAll(replacements);
        Path source = files.isEmpty() ? Path.of("model") : files.getFirst();
        return assemble(format, newConfig, all, files, List.of(), source);
    }

    private static void checkType(TensorView tensor, Path source) {
        DType type = tensor.dtype();
        boolean usable = switch (type) {
            case F64, F32, F16, BF16, F8_E4M3, F8_E5M2, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K -> true;
            case I8 -> tensor instanceof ScaledInt8Tensor;
            case I64, I32, I16, U8, BOOL -> false;
        };
        if (!usable) {
            throw InvalidInputException.forField(source, tensor.name() + " dtype",
                    "a floating-point or quantized type (int8 only with a _scale tensor)", type);
        }
    }

    private static String summarize(List<String> names) {
        return names.size() <= 5 ? String.join(", ", names) : String.join(", ", names.subList(0, 5)) + ", ... (" + (names.size() - 5) + " more)";
    }

    public CheckpointFormat format() {
        return format;
    }

    public ModelConfig config() {
        return config;
    }

    /** The canonical tensors in canonical order. */
    public SequencedMap<String, TensorView> tensors() {
        return tensors;
    }

    public TensorView tensor(String name) {
        TensorView tensor = tensors.get(name);
        if (tensor == null) {
            throw new IllegalArgumentException("no tensor " + name);
        }
        return tensor;
    }

    /** The output projection: {@code lm_head.weight}, or the embedding when they are tied. */
    public TensorView outputHead() {
        return config.tiedEmbeddings() ? tensor(TensorNames.EMBEDDING) : tensor(TensorNames.LM_HEAD);
    }

    /** Names found in the checkpoint that the model does not use (e.g. rotary caches). */
    public List<String> unusedTensors() {
        return List.copyOf(extraTensors.keySet());
    }

    /** Tensors beside the model's own, by name: a bundle's calibrated spike thresholds, rotary caches, ... */
    public SequencedMap<String, TensorView> extraTensors() {
        return extraTensors;
    }

    /** The files the model was read from. */
    public List<Path> files() {
        return files;
    }

    /** Number of parameters; a tied head counts once. */
    public long parameterCount() {
        return tensors.values().stream().mapToLong(tensor -> tensor.shape().elementCount()).sum();
    }

    /** Bytes the canonical tensors occupy in their files. */
    public long storedBytes() {
        return tensors.values().stream().mapToLong(TensorView::byteSize).sum();
    }

    @Override
    public void close() {
        closeAll(resources, null);
    }

    private static void closeAll(List<? extends AutoCloseable> resources, RuntimeException pending) {
        RuntimeException failure = pending;
        for (AutoCloseable resource : resources) {
            try {
                resource.close();
            }
            catch (Exception e) {
                if (failure == null) {
                    failure = new IllegalStateException("could not close " + resource, e);
                }
                else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null && pending == null) {
            throw failure;
        }
    }
}
