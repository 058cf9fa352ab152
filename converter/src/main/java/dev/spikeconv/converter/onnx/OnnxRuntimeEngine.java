package dev.spikeconv.converter.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.spikeconv.converter.execution.InferenceEngine;
import dev.spikeconv.converter.execution.InferenceSession;
import dev.spikeconv.formats.io.FileTrees;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.onnx.proto.GraphProto;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.onnx.proto.TypeProto;
import dev.spikeconv.formats.onnx.proto.ValueInfoProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs a graph of {@link DecoderGraphWriter}'s form on ONNX Runtime (CPU): threads as configured,
 * spinning off, and every tensor, result and session closed. A session feeds each run's
 * {@code present.*} outputs back as the next run's {@code past_key_values.*} inputs.
 */
public final class OnnxRuntimeEngine implements InferenceEngine {
    private static final OrtEnvironment ENVIRONMENT = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "spikeconv");
    /**
     * Converted tensors a graph built in memory may hold (they pass through the heap about three times while the graph is
     * serialized): more is streamed to a file instead, whatever the heap.
     */
    static final long IN_MEMORY_DATA_LIMIT = 64L << 20;

    private final ModelConfig config;
    private final OrtSession session;
    private final Path temporaryDirectory;

    private OnnxRuntimeEngine(ModelConfig config, OrtSession session, Path temporaryDirectory) {
        this.config = config;
        this.session = session;
        this.temporaryDirectory = temporaryDirectory;
    }

    /** ONNX Runtime's version, as its native library reports it. */
    public static String runtimeVersion() {
        return ENVIRONMENT.getVersion();
    }

    /** Opens an ONNX graph written by spikeconv; {@code config} describes the model it implements. */
    public static OnnxRuntimeEngine open(Path modelFile, ModelConfig config, OnnxRuntimeOptions options) throws IOException {
        return open(modelFile, config, options, List.of());
    }

    /**
     * Opens a graph with some of its inner values (e.g. {@link DecoderGraphWriter#hiddenStates}) made
     * outputs as well, so {@link RuntimeSession#forwardTraced} can return them. The graph file is not changed.
     */
    public static OnnxRuntimeEngine open(Path modelFile, ModelConfig config, OnnxRuntimeOptions options, List<String> tracedValues) throws IOException {
        return new OnnxRuntimeEngine(config, createSession(modelFile, options, tracedValues), null);
    }

    /** Opens {@code model} as an ONNX graph, written for the purpose (see the other form). */
    public static OnnxRuntimeEngine export(ModelDescription model, OnnxRuntimeOptions options) throws IOException {
        return export(model, options, GraphOptions.STANDARD, List.of());
    }

    /**
     * Opens {@code model} as an ONNX graph. A model whose files lie in one folder gets a graph built in memory that reads
     * its weights from those files, with whatever it cannot read there (converted tensors) inside the graph up to
     * {@link #IN_MEMORY_DATA_LIMIT}; any other model, or one past that limit, is written into a temporary folder (removed
     * on close) with its weights as float32.
     */
    public static OnnxRuntimeEngine export(ModelDescription model, OnnxRuntimeOptions options, GraphOptions graphOptions, List<String> tracedValues)
            throws IOException {
        List<Path> folders = model.files().stream().map(file -> file.toAbsolutePath().normalize().getParent()).distinct().toList();
        if (folders.size() == 1) {
            try {
                ModelProto graph = DecoderGraphWriter.inMemory(model, folders.getFirst(), graphOptions, IN_MEMORY_DATA_LIMIT);
                return new OnnxRuntimeEngine(model.config(),
                        createSession(withOutputs(graph, tracedValues), folders.getFirst(), "a graph built over " + folders.getFirst(), options), null);
            }
            catch (ExternalDataWriter.InMemoryLimitExceededException e) {
                // Too much to convert in memory: written to a folder instead.
            }
        }
        return exportToFolder(model, options, graphOptions, tracedValues);
    }

    /** The graph spikeconv writes for {@code model}, built in memory over the files in {@code folder} (its data inline). */
    public static ModelProto graphOf(ModelDescription model, Path folder) throws IOException {
        return DecoderGraphWriter.inMemory(model, folder, GraphOptions.STANDARD, IN_MEMORY_DATA_LIMIT);
    }

    /** Writes {@code model} as an ONNX graph into a temporary folder (removed on close) and opens it. */
    static OnnxRuntimeEngine exportToFolder(ModelDescription model, OnnxRuntimeOptions options, GraphOptions graphOptions, List<String> tracedValues)
            throws IOException {
        Path directory = Files.createTempDirectory("spikeconv-onnx-");
        try {
            Path file = DecoderGraphWriter.write(model, directory, graphOptions);
            return new OnnxRuntimeEngine(model.config(), createSession(file, options, tracedValues), directory);
        }
        catch (IOException | RuntimeException e) {
            FileTrees.deleteQuietly(directory);
            throw e;
        }
    }

    private static OrtSession createSession(Path modelFile, OnnxRuntimeOptions options, List<String> tracedValues) throws IOException {
        // Loaded from memory (the graph is small: its weights stay in the data files beside it, which ONNX Runtime reads).
        try {
            return createSession(withOutputs(readGraph(modelFile), tracedValues), modelFile.toAbsolutePath().getParent(), modelFile.toString(), options);
        }
        catch (SessionLoadException e) {
            // A graph file that parses but does not load (a flipped byte, a graph edited by hand) is bad input, not an I/O error.
            throw new UnloadableGraphException(modelFile, "ONNX Runtime cannot load it: " + firstSentence(e.getCause().getMessage()), e);
        }
    }

    /** ONNX Runtime refused a graph. */
    private static final class SessionLoadException extends IOException {
        private static final long serialVersionUID = 1L;

        SessionLoadException(String message, OrtException cause) {
            super(message, cause);
        }
    }

    /**
     * CPU threads as asked, no spinning, all graph optimizations, errors only in the log; int8 weights folded into float
     * constants ({@code session.disable_quant_qdq}: ONNX Runtime then folds DequantizeLinear of initializers) when the
     * options allow for {@code int8Weights} of them.
     */
    private static OrtSession.SessionOptions sessionOptions(OnnxRuntimeOptions options, long int8Weights) throws OrtException {
        OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions();
        try {
            sessionOptions.setIntraOpNumThreads(options.threads());
            sessionOptions.setInterOpNumThreads(1);
            sessionOptions.addConfigEntry("session.intra_op.allow_spinning", "0");
            sessionOptions.addConfigEntry("session.inter_op.allow_spinning", "0");
            if (options.folds(int8Weights)) {
                sessionOptions.addConfigEntry("session.disable_quant_qdq", "1");
            }
            sessionOptions.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            sessionOptions.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            return sessionOptions;
        }
        catch (OrtException | RuntimeException e) {
            sessionOptions.close();
            throw e;
        }
    }

    /** A graph loaded from {@code graph}, reading its external data from files in {@code folder}; {@code description} names it in errors. */
    private static OrtSession createSession(ModelProto graph, Path folder, String description, OnnxRuntimeOptions options) throws IOException {
        try (OrtSession.SessionOptions sessionOptions = sessionOptions(options, int8Weights(graph))) {
            sessionOptions.addConfigEntry("session.model_external_initializers_file_folder_path", folder.toString());
            return ENVIRONMENT.createSession(graph.toByteArray(), sessionOptions);
        }
        catch (OrtException e) {
            throw new SessionLoadException("ONNX Runtime could not load " + description + ": " + e.getMessage(), e);
        }
    }

    /**
     * Runs the part of {@code graph} (a decoder graph of {@code config}, its data files in {@code folder}) that computes
     * {@code outputs} from the value {@code start} (a residual stream {@code [tokens, hidden]} given as {@code startRows},
     * or the empty name to start from the token ids), for a fresh sequence of {@code tokens}: the graph's own nodes, in a
     * session of their own that holds their weights alone ({@link GraphSlicer}). Int8 weights stay int8. Returns every
     * output as {@code [tokens][width]}.
     */
    public static Map<String, float[][]> runSlice(ModelProto graph, Path folder, ModelConfig config, OnnxRuntimeOptions options, String start,
            float[][] startRows, int[] tokens, List<String> outputs) throws IOException {
        ModelProto slice;
        try {
            slice = GraphSlicer.slice(graph, start, 2, outputs);
        }
        catch (IllegalArgumentException e) {
            throw new UnloadableGraphException(folder.resolve(DecoderGraphWriter.MODEL_FILE), e.getMessage()
                    + ": it was written by another version of spikeconv; convert the checkpoint again", e);
        }
        List<String> inputs = slice.getGraph().getInputList().stream().map(ValueInfoProto::getName).toList();
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try (OrtSession session = createSession(slice, folder, "a slice of " + folder, options.keepingInt8())) {
            feeds.put(DecoderGraphWriter.INPUT_IDS, OnnxTensor.createTensor(ENVIRONMENT, LongBuffer.wrap(Arrays.stream(tokens).asLongStream().toArray()),
                    new long[] {1, tokens.length}));
            feeds.put(DecoderGraphWriter.PAST_SEQUENCE_LENGTH, OnnxTensor.createTensor(ENVIRONMENT, LongBuffer.wrap(new long[] {0}), new long[] {1}));
            for (DecoderGraphWriter.Cache cache : DecoderGraphWriter.caches(config)) {
                long elements = Arrays.stream(cache.initialShape()).reduce(1, Math::multiplyExact);
                feeds.put(cache.past(), OnnxTensor.createTensor(ENVIRONMENT, FloatBuffer.allocate((int) elements), cache.initialShape()));
            }
            if (!start.isEmpty() && inputs.contains(start)) {
                FloatBuffer values = FloatBuffer.allocate(startRows.length * startRows[0].length);
                for (float[] row : startRows) {
                    values.put(row);
                }
                feeds.put(start, OnnxTensor.createTensor(ENVIRONMENT, values.flip(), new long[] {startRows.length, startRows[0].length}));
            }
            Map<String, OnnxTensor> needed = new LinkedHashMap<>();
            inputs.forEach(name -> needed.put(name, feeds.get(name)));
            try (OrtSession.Result result = session.run(needed)) {
                Map<String, float[][]> values = new LinkedHashMap<>();
                for (String output : outputs) {
                    values.put(output, RuntimeSession.rows((OnnxTensor) result.get(output).orElseThrow(), tokens.length));
                }
                return values;
            }
        }
        catch (SessionLoadException e) {
            throw new UnloadableGraphException(folder.resolve(DecoderGraphWriter.MODEL_FILE), "ONNX Runtime cannot load a layer of it: "
                    + firstSentence(e.getCause().getMessage()), e);
        }
        catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
        finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** Values of the graph's int8 initializers: the weights a session may fold into floats. */
    static long int8Weights(ModelProto graph) {
        long count = 0;
        for (TensorProto initializer : graph.getGraph().getInitializerList()) {
            if (initializer.getDataType() == TensorProto.DataType.INT8_VALUE) {
                count += initializer.getDimsList().stream().mapToLong(Long::longValue).reduce(1, Math::multiplyExact);
            }
        }
        return count;
    }

    /** The graph in {@code modelFile}; a file that is not an ONNX model is an input error. */
    public static ModelProto readGraph(Path modelFile) throws IOException {
        ModelProto model;
        try (InputStream in = Files.newInputStream(modelFile)) {
            model = ModelProto.parseFrom(in);
        }
        catch (InvalidProtocolBufferException e) {
            throw new UnloadableGraphException(modelFile, "is not an ONNX model: " + firstSentence(e.getMessage()), e);
        }
        if (!model.hasGraph()) {
            throw new UnloadableGraphException(modelFile, "is not an ONNX model: it has no graph", null);
        }
        return model;
    }

    /** The first sentence of a library's message: protobuf and ONNX Runtime add paragraphs of advice a one-line error cannot hold. */
    static String firstSentence(String message) {
        String oneLine = message.strip().replaceAll("\\s+", " ");
        int end = oneLine.indexOf(". ");
        return end < 0 ? oneLine : oneLine.substring(0, end + 1);
    }

    /** {@code model} with {@code tracedValues} added as float outputs. */
    private static ModelProto withOutputs(ModelProto model, List<String> tracedValues) {
        if (tracedValues.isEmpty()) {
            return model;
        }
        GraphProto.Builder graph = model.getGraph().toBuilder();
        for (String value : tracedValues) {
            graph.addOutput(ValueInfoProto.newBuilder().setName(value)
                    .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))));
        }
        return model.toBuilder().setGraph(graph).build();
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public RuntimeSession newSession() {
        return new RuntimeSession();
    }

    /** The most tokens {@link RuntimeSession#forward} passes to ONNX Runtime in one call. */
    public static final int PREFILL_PIECE = 1024;

    /** Logits and traced values of one run; each traced value as {@code [tokens][width]}. */
    public record Trace(float[][] logits, Map<String, float[][]> values) {}

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
                FileTrees.deleteQuietly(temporaryDirectory);
            }
        }
    }

    /** One sequence: the last run's result stays open because its present caches feed the next run. */
    public final class RuntimeSession implements InferenceSession {
        /** past input name, present output name, for every cache of the graph */
        private final List<String[]> caches = new ArrayList<>();
        private final Map<String, OnnxTensor> initialCaches = new HashMap<>();
        private OrtSession.Result previous;
        private int position;

        RuntimeSession() {
            try {
                for (DecoderGraphWriter.Cache cache : DecoderGraphWriter.caches(config)) {
                    caches.add(new String[] {cache.past(), cache.present()});
                    long elements = Arrays.stream(cache.initialShape()).reduce(1, Math::multiplyExact);
                    initialCaches.put(cache.past(), OnnxTensor.createTensor(ENVIRONMENT, FloatBuffer.allocate((int) elements), cache.initialShape()));
                }
            }
            catch (OrtException e) {
                close();
                throw new IllegalStateException("could not create the initial caches: " + e.getMessage(), e);
            }
        }

        /**
         * Runs {@code tokens} in calls of at most {@link #PREFILL_PIECE}: a softmax kind's call holds scores for every new
         * token against every key it sees (a hybrid's several such tensors), so a long prompt in one call would hold
         * memory quadratic in its length; in pieces it is linear. The caches carry over between calls exactly as in decode.
         */
        @Override
        public float[][] forward(int[] tokens) {
            if (tokens.length <= PREFILL_PIECE) {
                return run(tokens, List.of(), true).logits();
            }
            float[][] logits = new float[tokens.length][];
            for (int start = 0; start < tokens.length; start += PREFILL_PIECE) {
                float[][] piece = run(Arrays.copyOfRange(tokens, start, Math.min(tokens.length, start + PREFILL_PIECE)), List.of(), true).logits();
                System.arraycopy(piece, 0, logits, start, piece.length);
            }
            return logits;
        }

        /** Runs {@code tokens} and copies out the logits and the traced values named (they must have been traced at open). */
        public Trace forwardTraced(int[] tokens, List<String> values) {
            return run(tokens, values, true);
        }

        /**
         * Runs {@code tokens} for the traced values named alone: ONNX Runtime is asked for them and the caches only, so the
         * logits ({@code tokens × vocabulary} floats) are not fetched or copied.
         */
        public Map<String, float[][]> trace(int[] tokens, List<String> values) {
            return run(tokens, values, false).values();
        }

        /** Logits are {@code null} unless asked for. */
        private Trace run(int[] tokens, List<String> traced, boolean withLogits) {
            try (OnnxTensor ids = OnnxTensor.createTensor(ENVIRONMENT, LongBuffer.wrap(Arrays.stream(tokens).asLongStream().toArray()), new long[] {1, tokens.length});
                    OnnxTensor past = OnnxTensor.createTensor(ENVIRONMENT, LongBuffer.wrap(new long[] {position}), new long[] {1})) {
                Map<String, OnnxTensor> inputs = new HashMap<>();
                inputs.put(DecoderGraphWriter.INPUT_IDS, ids);
                inputs.put(DecoderGraphWriter.PAST_SEQUENCE_LENGTH, past);
                for (String[] cache : caches) {
                    inputs.put(cache[0], previous == null ? initialCaches.get(cache[0]) : output(previous, cache[1]));
                }
                Set<String> requested = new LinkedHashSet<>(traced);
                caches.forEach(cache -> requested.add(cache[1]));
                if (withLogits) {
                    requested.add(DecoderGraphWriter.LOGITS);
                }
                OrtSession.Result result = session.run(inputs, requested);
                float[][] logits = withLogits ? logits(result, tokens.length) : null;
                Map<String, float[][]> values = new LinkedHashMap<>();
                for (String name : traced) {
                    values.put(name, rows(output(result, name), tokens.length));
                }
                closePrevious();
                previous = result;
                position += tokens.length;
                return new Trace(logits, values);
            }
            catch (OrtException e) {
                throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
            }
        }

        private OnnxTensor output(OrtSession.Result result, String name) {
            return (OnnxTensor) result.get(name).orElseThrow(() -> new IllegalStateException("graph has no output " + name));
        }

        private float[][] logits(OrtSession.Result result, int count) throws OrtException {
            OnnxValue value = output(result, DecoderGraphWriter.LOGITS);
            return rows((OnnxTensor) value, count);
        }

        /**
         * A tensor of {@code count} tokens as {@code [count][rest]}. Tensors {@code [count, width]} and {@code [1, count,
         * width]} (logits, hidden states, projection inputs) are copied by ONNX Runtime straight into the rows; others
         * through a buffer first, which costs a second copy.
         */
        static float[][] rows(OnnxTensor tensor, int count) throws OrtException {
            long[] shape = tensor.getInfo().getShape();
            boolean tokenRows = shape.length == 2 && shape[0] == count || shape.length == 3 && shape[0] == 1 && shape[1] == count;
            if (tokenRows && tensor.getInfo().type == OnnxJavaType.FLOAT) {
                Object value = tensor.getValue();
                return value instanceof float[][][] batch ? batch[0] : (float[][]) value;
            }
            FloatBuffer buffer = tensor.getFloatBuffer();
            int width = buffer.remaining() / count;
            float[][] rows = new float[count][width];
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

        /**
         * This sequence continued in {@code engine}, a graph of the same model with the same caches (e.g. another attention
         * kernel): the caches move over without copies and this session is left empty. The dense baseline of the bench
         * prefills with one kernel and decodes with another.
         */
        public RuntimeSession continueIn(OnnxRuntimeEngine engine) {
            if (!engine.config().layers().equals(config.layers()) || engine.config().keyValueHeadCount() != config.keyValueHeadCount()
                    || engine.config().headDimension() != config.headDimension()) {
                throw new IllegalArgumentException("the caches of this model do not fit the other engine's graph");
            }
            RuntimeSession next = engine.newSession();
            next.previous = previous;
            next.position = position;
            previous = null;
            position = 0;
            return next;
        }

        /** Bytes of the caches this sequence carries into its next run: KV caches grow with it, GLA states and SWA windows do not. */
        public long cacheBytes() {
            long bytes = 0;
            for (String[] cache : caches) {
                OnnxTensor tensor = previous == null ? initialCaches.get(cache[0]) : output(previous, cache[1]);
                bytes += tensor.getInfo().getNumElements() * Float.BYTES;
            }
            return bytes;
        }

        @Override
        public void close() {
            closePrevious();
            initialCaches.values().forEach(OnnxTensor::close);
            initialCaches.clear();
        }
    }
}
