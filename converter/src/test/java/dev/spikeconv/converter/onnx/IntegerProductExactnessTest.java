package dev.spikeconv.converter.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtException;
import dev.spikeconv.formats.onnx.proto.ModelProto;
import dev.spikeconv.formats.onnx.proto.TensorProto;
import java.io.IOException;
import java.util.Map;
import java.util.Random;
import java.util.function.IntBinaryOperator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The integer products of spiking projections are exact on every CPU, checked as a property rather than a tolerance:
 * worst-case operands (every count ±127 against every code ±127, over 4096 inputs, 64 rows: past the 32 rows where
 * ONNX Runtime 1.24's AMX integer kernel goes wrong) against the exact sum in Java, rounded once to float32.
 */
class IntegerProductExactnessTest {
    private static final int TOKENS = 64;
    private static final int OUTPUTS = 24;

    enum Operands {
        ALL_PLUS((row, column) -> 127, (token, column) -> 127),
        OPPOSITE_SIGNS((row, column) -> 127, (token, column) -> -127),
        ALTERNATING((row, column) -> column % 2 == 0 ? 127 : -127, (token, column) -> (column / 2 + token) % 2 == 0 ? 127 : -127),
        /** Large positive sums (past 2^24 after about a thousand inputs) with odd terms, so every partial sum past that bound is inexact in float32. */
        LARGE_ODD_SUMS((row, column) -> (column + row) % 5 == 0 ? 125 : 127, (token, column) -> (column * 7 + token) % 13 == 0 ? 121 : 127),
        RANDOM_EXTREMES(null, null),
        RANDOM(null, null);

        final IntBinaryOperator code;
        final IntBinaryOperator count;

        Operands(IntBinaryOperator code, IntBinaryOperator count) {
            this.code = code;
            this.count = count;
        }
    }

    @ParameterizedTest(name = "{0}, {1} inputs, folded {2}")
    @CsvSource({"LARGE_ODD_SUMS, 4096, true", "LARGE_ODD_SUMS, 4096, false", "ALL_PLUS, 4096, true", "ALL_PLUS, 4096, false", "OPPOSITE_SIGNS, 4096, true", "ALTERNATING, 4096, true", "RANDOM_EXTREMES, 4096, true",
        "RANDOM_EXTREMES, 4096, false", "RANDOM, 1000, true", "RANDOM, 1025, true", "RANDOM_EXTREMES, 1024, true", "RANDOM, 11008, false"})
    void productsAreTheExactIntegerSums(Operands operands, int inputs, boolean folded) throws IOException, OrtException {
        Random random = new Random(inputs * 31L + operands.ordinal());
        byte[] codes = new byte[OUTPUTS * inputs];
        float[] counts = new float[TOKENS * inputs];
        for (int row = 0; row < OUTPUTS; row++) {
            for (int column = 0; column < inputs; column++) {
                codes[row * inputs + column] = (byte) value(operands, operands.code, row, column, random);
            }
        }
        for (int token = 0; token < TOKENS; token++) {
            for (int column = 0; column < inputs; column++) {
                counts[token * inputs + column] = value(operands, operands.count, token, column, random);
            }
        }
        ModelProto model = GraphRuns.build(graph -> {
            graph.input("counts", TensorProto.DataType.FLOAT, "tokens", inputs);
            String weights = graph.int8Weight("codes", new long[] {OUTPUTS, inputs}, sink -> sink.write(java.nio.ByteBuffer.wrap(codes)));
            graph.addNode("Identity", new String[] {IntegerProductNodes.product(graph, "counts", weights, inputs)}, new String[] {"sums"});
            graph.output("sums", TensorProto.DataType.FLOAT, "tokens", OUTPUTS);
        });
        float[] sums = GraphRuns.run(model, Map.of("counts", new GraphRuns.FloatInput(counts, TOKENS, inputs)), folded).get("sums");
        for (int token = 0; token < TOKENS; token++) {
            for (int row = 0; row < OUTPUTS; row++) {
                long exact = 0;
                for (int column = 0; column < inputs; column++) {
                    exact += (long) codes[row * inputs + column] * (long) counts[token * inputs + column];
                }
                assertThat(Float.floatToRawIntBits(sums[token * OUTPUTS + row])).as("sum [%d, %d]: %s, exact %d", token, row, sums[token * OUTPUTS + row], exact)
                        .isEqualTo(Float.floatToRawIntBits((float) exact));
            }
        }
    }

    private static int value(Operands operands, IntBinaryOperator pattern, int first, int second, Random random) {
        return switch (operands) {
            case ALL_PLUS, OPPOSITE_SIGNS, ALTERNATING, LARGE_ODD_SUMS -> pattern.applyAsInt(first, second);
            case RANDOM_EXTREMES -> random.nextBoolean() ? 127 : -127;
            case RANDOM -> random.nextInt(255) - 127;
        };
    }
}
