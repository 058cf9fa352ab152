package dev.spikeconv.formats.gguf;

import dev.spikeconv.formats.tensor.DType;
import java.util.Optional;

/** GGML tensor type ids (ggml.h {@code enum ggml_type}) and the storage types spikeconv reads them as. */
public final class GgmlTypes {
    private GgmlTypes() {}

    public static Optional<DType> fromId(long id) {
        DType type = switch ((int) Math.min(id, Integer.MAX_VALUE)) {
            case 0 -> DType.F32;
            case 1 -> DType.F16;
            case 2 -> DType.Q4_0;
            case 3 -> DType.Q4_1;
            case 6 -> DType.Q5_0;
            case 7 -> DType.Q5_1;
            case 8 -> DType.Q8_0;
            case 12 -> DType.Q4_K;
            case 13 -> DType.Q5_K;
            case 14 -> DType.Q6_K;
            case 24 -> DType.I8;
            case 25 -> DType.I16;
            case 26 -> DType.I32;
            case 27 -> DType.I64;
            case 28 -> DType.F64;
            case 30 -> DType.BF16;
            default -> null;
        };
        return Optional.ofNullable(type);
    }

    /** The GGML id of a type GGUF can hold. */
    public static int id(DType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q5_0 -> 6;
            case Q5_1 -> 7;
            case Q8_0 -> 8;
            case Q4_K -> 12;
            case Q5_K -> 13;
            case Q6_K -> 14;
            case I8 -> 24;
            case I16 -> 25;
            case I32 -> 26;
            case I64 -> 27;
            case F64 -> 28;
            case BF16 -> 30;
            case F8_E4M3, F8_E5M2, U8, BOOL -> throw new IllegalArgumentException(type + " has no GGML type");
        };
    }
}
