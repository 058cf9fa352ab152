package dev.spikeconv.formats.gguf;

/**
 * A GGUF metadata array. {@code values} is a primitive array of the element type ({@code int[]} for
 * 8/16-bit and int32, {@code long[]} for uint32 and 64-bit integers, {@code float[]}, {@code double[]},
 * {@code boolean[]}), a {@code String[]}, or a {@code GgufArray[]} for nested arrays.
 */
public record GgufArray(GgufValueType elementType, Object values, int length) {}
