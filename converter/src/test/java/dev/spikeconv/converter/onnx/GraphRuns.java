package dev.spikeconv.converter.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.spikeconv.converter.SpikeconvVersion;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/** Small graphs made with the graph writer's own node builders, run once on ONNX Runtime with the engine's settings. */
final class GraphRuns {
    private GraphRuns() {}

    /** A graph built by {@code body} on an in-memory data file; its external data is inlined. */
    static ModelProto build(GraphBody body) throws IOException {
        try (ExternalDataWriter data = ExternalDataWriter.inMemory(DecoderGraphWriter.DATA_FILE, 1L << 30)) {
            OnnxGraphBuilder graph = new OnnxGraphBuilder("test", data);
            body.build(graph);
            return data.inline(graph.build(SpikeconvVersion.get()));
        }
    }

    @FunctionalInterface
    interface GraphBody {
        void build(OnnxGraphBuilder graph) throws IOException;
    }

    /** Runs {@code model} on float32 inputs {@code name -> (values, shape)} and returns each float32 output flattened. */
    static Map<String, float[]> run(ModelProto model, Map<String, FloatInput> inputs) throws OrtException {
        return run(model, inputs, false);
    }

    /** The same, with int8 initializers behind DequantizeLinear folded into float constants at load when {@code folded}. */
    static Map<String, float[]> run(ModelProto model, Map<String, FloatInput> inputs, boolean folded) throws OrtException {
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        Map<String, float[]> outputs = new LinkedHashMap<>();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(2);
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (folded) {
                options.addConfigEntry("session.disable_quant_qdq", "1");
            }
            try (OrtSession session = environment.createSession(model.toByteArray(), options)) {
                Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
                try {
                    for (Map.Entry<String, FloatInput> input : inputs.entrySet()) {
                        tensors.put(input.getKey(), OnnxTensor.createTensor(environment, FloatBuffer.wrap(input.getValue().values()), input.getValue().shape()));
                    }
                    try (OrtSession.Result result = session.run(tensors)) {
                        result.forEach(entry -> outputs.put(entry.getKey(), copy((OnnxTensor) entry.getValue())));
                    }
                }
                finally {
                    tensors.values().forEach(OnnxTensor::close);
                }
            }
        }
        return outputs;
    }

    private static float[] copy(OnnxTensor tensor) {
        FloatBuffer buffer = tensor.getFloatBuffer();
        float[] values = new float[buffer.remaining()];
        buffer.get(values);
        return values;
    }

    record FloatInput(float[] values, long... shape) {}
}
