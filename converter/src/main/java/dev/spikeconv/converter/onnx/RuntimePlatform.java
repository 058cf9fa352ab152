package dev.spikeconv.converter.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The CPU ONNX Runtime runs on and the kernels its CPU provider picks there. ONNX Runtime's MLAS chooses GEMM kernels by
 * instruction set at start (AMX, AVX-512 VNNI, AVX-VNNI, AVX2, ...), so results are reported with the machine that made
 * them.
 *
 * @param cpu         the CPU's model name, as the operating system reports it
 * @param features    the instruction-set extensions MLAS chooses between that this CPU has
 * @param onnxRuntime ONNX Runtime's version
 * @param floatGemm   the instruction set of the float32 GEMM kernel MLAS uses here
 */
public record RuntimePlatform(String cpu, List<String> features, String onnxRuntime, String floatGemm) {
    private static final Path CPU_INFO = Path.of("/proc/cpuinfo");
    /** The extensions MLAS dispatches on, in the order it prefers them. */
    private static final List<String> KERNEL_FEATURES = List.of("amx_tile", "amx_int8", "amx_bf16", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
            "avx_vnni", "avx2", "fma");
    /** What a bundle's graph multiplies with: float GEMMs only, integers in exact blocks (see ProjectionNodes). */
    public static final String INTEGER_PRODUCTS = "float32 GEMM on integer values in blocks of at most 1024 inputs (exact on every CPU); no integer GEMM kernel";

    /** This machine, read from {@code /proc/cpuinfo} where there is one. */
    public static RuntimePlatform current() {
        String cpu = System.getProperty("os.arch");
        Set<String> flags = Set.of();
        try {
            if (Files.isReadable(CPU_INFO)) {
                List<String> lines = Files.readAllLines(CPU_INFO);
                cpu = field(lines, "model name", cpu);
                flags = Arrays.stream(field(lines, "flags", "").split("\\s+")).collect(Collectors.toSet());
            }
        }
        catch (IOException | RuntimeException e) {
            // The description is informative: a machine that hides its CPU is reported by architecture alone.
        }
        List<String> features = KERNEL_FEATURES.stream().filter(flags::contains).toList();
        String floatGemm = flags.contains("avx512f") ? "AVX-512F" : flags.contains("avx2") && flags.contains("fma") ? "AVX2 + FMA3" : "SSE or not x86";
        return new RuntimePlatform(cpu, features, OnnxRuntimeEngine.runtimeVersion(), floatGemm);
    }

    private static String field(List<String> lines, String name, String fallback) {
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equals(name)) {
                return line.substring(colon + 1).strip();
            }
        }
        return fallback;
    }

    /** One line for text reports. */
    public String summary() {
        return cpu + " (" + (features.isEmpty() ? "no AVX2" : String.join(" ", features)) + "), ONNX Runtime " + onnxRuntime + ", float GEMM " + floatGemm;
    }
}
