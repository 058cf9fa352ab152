package dev.spikeconv.converter.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import dev.spikeconv.converter.execution.InferenceEngine;
import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.formats.model.AttentionKind;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Runs a graph of {@link DecoderGraphWriter}'s form on ONNX Runtime (CPU): threads as configured,
 * spinning off, and every tensor, result and session closed. A session feeds each run's
 * {@code present.*} outputs back as the next run's {@code past_key_values.*} inputs.
 */
public final class OnnxRuntimeEngine implements InferenceEngine {
    private static final OrtEnvironment ENVIRONMENT = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "spikeconv");

    private final ModelConfig config;
    private final OrtSession session;
    private final Path temporaryDirectory;

    private OnnxRuntimeEngine(ModelConfig config, OrtSession session, Path temporaryDirectory) {
        this.config = config;
        this.session = session;
        this.temporaryDirectory = temporaryDirectory;
    }

    /** Opens an ONNX graph written by spikeconv; {@code config} describes the model it implements. */
    public static OnnxRuntimeEngine open(Path modelFile, ModelConfig config, OnnxRuntimeOptions options) throws IOException {
        return new OnnxRuntimeEngine(config, createSession(modelFile, options), null);
    }

    /** Writes {@code model} as an ONNX graph into a temporary folder (removed on close) and opens it. */
    public static OnnxRuntimeEngine export(ModelDescription model, OnnxRuntimeOptions options) throws IOException {
        Path directory = Files.createTempDirectory("spikeconv-onnx-");
        try {
            Path file = DecoderGraphWriter.write(model, directory);
            return new OnnxRuntimeEngine(model.config(), createSession(file, options), directory);
        }
        catch (IOException | RuntimeException e) {
            deleteRecursively(directory);
            throw e;
        }
    }

    private static OrtSession createSession(Path modelFile, OnnxRuntimeOptions options) throws IOException {
        try (OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions()) {
            sessionOptions.setIntraOpNumThreads(options.threads());
            sessionOptions.setInterOpNumThreads(1);
            sessionOptions.addConfigEntry("session.intra_op.allow_spinning", "0");
            sessionOptions.addConfigEntry("session.inter_op.allow_spinning", "0");
            sessionOptions.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            sessionOptions.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            return ENVIRONMENT.createSession(modelFile.toString(), sessionOptions);
        }
        catch (OrtException e) {
            throw new IOException("ONNX Runtime could not load " + modelFile + ": " + e.getMessage(), e);
        }
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public InferenceSession newSession() {
        return new RuntimeSession();
    }

    @Override
    public void close() {
        try {
            session.close();
        }
        catch (OrtException e) {
            throw new IllegalStateException("could not close the ONNX Runtime session", e);
        }
        finally {
            if (temporaryDirectory != null) {
                deleteRecursively(temporaryDirectory);
            }
        }
    }

    private static void deleteRecursively(Path directory) {
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
        catch (IOException e) {
            throw new UncheckedIOException("could not remove " + directory, e);
        }
    }

    /** One sequence: the last run's result stays open because its present caches feed the next run. */
    private final class RuntimeSession implements InferenceSession {
        /** past input name, present output name, for every cache of the graph */
        private final List<String[]> caches = new ArrayList<>();
        private final Map<String, OnnxTensor> initialCaches = new HashMap<>();
        private OrtSession.Result previous;
        private int position;

        RuntimeSession() {
            int kvHeads = config.keyValueHeadCount();
            int d = config.headDimension();
            try {
                for (int layer = 0; layer < config.layerCount(); layer++) {
                    if (config.layer(layer).kind() == AttentionKind.GATED_LINEAR) {
                        caches.add(new String[] {DecoderGraphWriter.pastState(layer), DecoderGraphWriter.presentState(layer)});
                        initialCaches.put(DecoderGraphWriter.pastState(layer),
                                OnnxTensor.createTensor(ENVIRONMENT, FloatBuffer.allocate(kvHeads * d * d), new long[] {1, kvHeads, d, d}));
                    }
                    else {
                        caches.add(new String[] {DecoderGraphWriter.pastKey(layer), DecoderGraphWriter.presentKey(layer)});
                        caches.add(new String[] {DecoderGraphWriter.pastValue(layer), DecoderGraphWriter.presentValue(layer)});
                        for (String name : new String[] {DecoderGraphWriter.pastKey(layer), DecoderGraphWriter.pastValue(layer)}) {
                            initialCaches.put(name, OnnxTensor.createTensor(ENVIRONMENT, FloatBuffer.allocate(0), new long[] {1, kvHeads, 0, d}));
                        }
                    }
                }
            }
            catch (OrtException e) {
                close();
                throw new IllegalStateException("could not create the initial caches: " + e.getMessage(), e);
            }
        }

        @Override
        public float[][] forward(int[] tokens) {
            try (OnnxTensor ids = OnnxTensor.createTensor(ENVIRONMENT, LongBuffer.wrap(Arrays.stream(tokens).asLongStream().toArray()), new long[] {1, tokens.length});
                    OnnxTensor past = OnnxTensor.createTensor(ENVIRONMENT, LongBuffer.wrap(new long[] {position}), new long[] {1})) {
                Map<String, OnnxTensor> inputs = new HashMap<>();
                inputs.put(DecoderGraphWriter.INPUT_IDS, ids);
                inputs.put(DecoderGraphWriter.PAST_SEQUENCE_LENGTH, past);
                for (String[] cache : caches) {
                    inputs.put(cache[0], previous == null ? initialCaches.get(cache[0]) : output(previous, cache[1]));
                }
                OrtSession.Result result = session.run(inputs);
                float[][] logits = logits(result, tokens.length);
                closePrevious();
                previous = result;
                position += tokens.length;
                return logits;
            }
            catch (OrtException e) {
                throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
            }
        }

        private OnnxTensor output(OrtSession.Result result, String name) {
            return (OnnxTensor) result.get(name).orElseThrow(() -> new IllegalStateException("graph has no output " + name));
        }

        private float[][] logits(OrtSession.Result result, int count) {
            OnnxValue value = output(result, DecoderGraphWriter.LOGITS);
            FloatBuffer buffer = ((OnnxTensor) value).getFloatBuffer();
            float[][] rows = new float[count][config.vocabularySize()];
            for (float[] row : rows) {
                buffer.get(row);
            }
            return rows;
        }

        private void closePrevious() {
            if (previous != null) {
                previous.close();
                previous = null;
            }
        }

        @Override
        public int position() {
            return position;
        }

        @Override
        public void close() {
            closePrevious();
            initialCaches.values().forEach(OnnxTensor::close);
            initialCaches.clear();
        }
    }
}
