package dev.spikeconv.formats.gguf;

/** The metadata value types of GGUF, by their on-disk ids. */
public enum GgufValueType {
    UINT8(0, 1),
    INT8(1, 1),
    UINT16(2, 2),
    INT16(3, 2),
    UINT32(4, 4),
    INT32(5, 4),
    FLOAT32(6, 4),
    BOOL(7, 1),
    STRING(8, 8),
    ARRAY(9, 12),
    UINT64(10, 8),
    INT64(11, 8),
    FLOAT64(12, 8);

    private final int id;
    private final int minimumBytes;

    GgufValueType(int id, int minimumBytes) {
        this.id = id;
        this.minimumBytes = minimumBytes;
    }

    /** The id GGUF files use for this type. */
    public int id() {
        return id;
    }

    /** The fewest bytes a value of this type occupies; bounds array counts before allocating. */
    public int minimumBytes() {
        return minimumBytes;
    }

    public static GgufValueType fromId(long id) {
        for (GgufValueType type : values()) {
            if (type.id == id) {
                return type;
            }
        }
        return null;
    }
}
