package dev.spikeconv.jmh;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import dev.spikeconv.converter.kernels.MatrixMultiply;
import dev.spikeconv.converter.kernels.WeightRows;
import dev.spikeconv.converter.quantization.StoredForm;
import dev.spikeconv.converter.reference.TensorRows;
import dev.spikeconv.formats.onnx.proto.GraphProto;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.NodeProto;
import dev.spikeconv.formats.onnx.proto.OperatorSetIdProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import dev.spikeconv.formats.onnx.proto.TensorShapeProto;
import dev.spikeconv.formats.onnx.proto.TypeProto;
import dev.spikeconv.formats.onnx.proto.ValueInfoProto;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One projection {@code [tokens, size] × [size, size]ᵀ}: the Java engine's blocked GEMM reading the weight as float32,
 * bf16 or int8 codes with scales (groups of 128), against ONNX Runtime's float32 {@code MatMul} on the same shape (threads
 * 2, spinning off). Time per product; GFLOP/s = 2 · tokens · size² / time. The bar: the Java kernels at least
 * half of ONNX Runtime's float GEMM, so layer-by-layer passes are bound by arithmetic.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ProjectionBenchmark {
    @Param({"64", "512"})
    int tokens;

    @Param({"1024", "4096"})
    int size;

    private float[] input;
    private float[] output;
    private WeightRows float32;
    private WeightRows bfloat16;
    private WeightRows int8;
    private OrtEnvironment environment;
    private OrtSession session;
    private OnnxTensor onnxInput;

    @Setup(Level.Trial)
    public void setUp() throws OrtException {
        SplittableRandom random = new SplittableRandom(8);
        input = new float[tokens * size];
        for (int i = 0; i < input.length; i++) {
            input[i] = (float) random.nextGaussian();
        }
        float[] weights = new float[size * size];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (float) (0.02 * random.nextGaussian());
        }
        output = new float[tokens * size];
        StoredTensor stored = StoredTensor.ofFloats("w", Shape.of(size, size), weights);
        float32 = TensorRows.of(stored);
        bfloat16 = TensorRows.of(StoredForm.ofFloats("w", DType.BF16, Shape.of(size, size), weights));
        TensorView quantized = StoredForm.like(new ScaledInt8Tensor(StoredTensor.ofBytes("w", Shape.of(size, size), new byte[size * size]),
                StoredTensor.ofFloats("w_scale", Shape.of(size, size / 128), new float[size * (size / 128)]), 128), weights);
        int8 = TensorRows.of(quantized);
        environment = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(2);
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = environment.createSession(matMul(weights, size).toByteArray(), options);
        }
        onnxInput = OnnxTensor.createTensor(environment, FloatBuffer.wrap(input), new long[] {tokens, size});
    }

    /** {@code y = x · Wᵀ} as ONNX: one MatMul with the transposed weight as an initializer. */
    private static ModelProto matMul(float[] weights, int size) {
        ByteBuffer transposed = ByteBuffer.allocate(weights.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int in = 0; in < size; in++) {
            for (int out = 0; out < size; out++) {
                transposed.putFloat(weights[out * size + in]);
            }
        }
        TensorProto weight = TensorProto.newBuilder().setName("w").setDataType(TensorProto.DataType.FLOAT.getNumber()).addDims(size).addDims(size)
                .setRawData(ByteString.copyFrom(transposed.flip())).build();
        GraphProto graph = GraphProto.newBuilder().setName("projection").addInitializer(weight)
                .addNode(NodeProto.newBuilder().setOpType("MatMul").addInput("x").addInput("w").addOutput("y"))
                .addInput(value("x", "tokens", size)).addOutput(value("y", "tokens", size)).build();
        return ModelProto.newBuilder().setIrVersion(10).addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(23)).setGraph(graph).build();
    }

    private static ValueInfoProto value(String name, String rows, int columns) {
        TensorShapeProto shape = TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(rows))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(columns)).build();
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                .setElemType(TensorProto.DataType.FLOAT.getNumber()).setShape(shape))).build();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        onnxInput.close();
        session.close();
    }

    @Benchmark
    public float[] javaFloat32() {
        MatrixMultiply.multiply(input, tokens, float32, output);
        return output;
    }

    @Benchmark
    public float[] javaBfloat16() {
        MatrixMultiply.multiply(input, tokens, bfloat16, output);
        return output;
    }

    @Benchmark
    public float[] javaInt8Grouped() {
        MatrixMultiply.multiply(input, tokens, int8, output);
        return output;
    }

    @Benchmark
    public float[] onnxRuntimeFloat32() throws OrtException {
        try (OrtSession.Result result = session.run(Map.of("x", onnxInput))) {
            ((OnnxTensor) result.get(0)).getFloatBuffer().get(output);
        }
        return output;
    }
}
