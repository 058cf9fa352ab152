package dev.spikeconv.converter.onnx;

import dev.spikeconv.converter.onnx.OnnxGraphBuilder.Attribute;
import dev.spikeconv.formats.onnx.proto.TensorProto;

/**
 * Integer products {@code s · Wq^T} of spike counts and int8 weight codes, exact on every CPU: float32 GEMMs of the
 * integer-valued operands over blocks of {@value #EXACT_BLOCK} inputs, the blocks added in int32. Counts and codes lie in
 * [-127, 127], so every partial sum a GEMM kernel forms within a block is an integer below 2^24 and exact in float32,
 * whatever its order, vector width or fused multiply-adds.
 *
 * <p>Not MatMulInteger: ONNX Runtime 1.24's MLAS sends u8×u8 products to its u8×s8 AMX kernel on Xeons with AMX (wrong
 * results, for 32 rows or more not even repeatable; microsoft/onnxruntime#27671, fixed in 1.25), and its u8×s8 kernels
 * saturate 16-bit pair sums on AVX2 without VNNI: an integer operator's result would depend on the CPU.
 */
final class IntegerProductNodes {
    /** Inputs per block: 127 · 127 · 1024 = 16,516,096 < 2^24 = 16,777,216. */
    static final int EXACT_BLOCK = 1024;
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final int INT32 = TensorProto.DataType.INT32_VALUE;

    private IntegerProductNodes() {}

    /**
     * {@code Σ_j codes[i, j] · counts[t, j]} as float32 {@code [tokens, out]}: the exact int32 sum, rounded once to float32.
     *
     * @param counts  float32 {@code [tokens, inputs]}, integer-valued in [-127, 127]
     * @param codes   int8 {@code [out, inputs]}, an initializer, read through DequantizeLinear with scale 1 (exact): folded
     *                into float constants or converted on every run, as the session chooses
     */
    static String product(OnnxGraphBuilder graph, String counts, String codes, int inputs) {
        int blocks = (inputs + EXACT_BLOCK - 1) / EXACT_BLOCK;
        String[] parts = {counts};
        if (blocks > 1) {
            long[] sizes = new long[blocks];
            for (int index = 0; index < blocks; index++) {
                sizes[index] = Math.min(EXACT_BLOCK, inputs - (long) index * EXACT_BLOCK);
            }
            parts = graph.nodes("Split", blocks, new String[] {counts, graph.int64(sizes)}, Attribute.integer("axis", 1));
        }
        String total = null;
        for (int index = 0; index < blocks; index++) {
            int from = index * EXACT_BLOCK;
            int to = Math.min(inputs, from + EXACT_BLOCK);
            String exact = graph.node("Gemm", new String[] {parts[index], floatCodes(graph, codes, from, to, blocks == 1)},
                    Attribute.integer("transB", 1));
            if (blocks == 1) {
                return exact;
            }
            // ONNX's Sum has no int32 form: the blocks are added one by one.
            String integers = graph.node("Cast", new String[] {exact}, Attribute.integer("to", INT32));
            total = total == null ? integers : graph.node("Add", total, integers);
        }
        return graph.node("Cast", new String[] {total}, Attribute.integer("to", FLOAT));
    }

    /** Columns {@code [from, to)} of the codes as float32, through DequantizeLinear with scale 1. */
    private static String floatCodes(OnnxGraphBuilder graph, String codes, int from, int to, boolean whole) {
        String columns = whole ? codes : graph.node("Slice", new String[] {codes, graph.int64(from), graph.int64(to), graph.int64(1)});
        return graph.node("DequantizeLinear", columns, graph.scalar(1));
    }
}
