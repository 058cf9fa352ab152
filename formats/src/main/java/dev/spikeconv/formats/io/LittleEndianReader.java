package dev.spikeconv.formats.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Sequential little-endian reads from a segment. Every read checks that the bytes exist first and
 * names the field when they do not, so a truncated header becomes an input error, never an exception
 * from deep inside the JDK.
 */
public final class LittleEndianReader {
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment segment;
    private final Path file;
    private long position;

    public LittleEndianReader(MemorySegment segment, Path file) {
        this.segment = segment;
        this.file = file;
    }

    public Path file() {
        return file;
    }

    public long position() {
        return position;
    }

    public long remaining() {
        return segment.byteSize() - position;
    }

    public void seek(long newPosition, String field) {
        if (newPosition < 0 || newPosition > segment.byteSize()) {
            throw InvalidInputException.forField(file, field, "an offset within the file of " + segment.byteSize() + " bytes", newPosition);
        }
        position = newPosition;
    }

    /** Checks that {@code byteCount} more bytes exist. */
    public void require(long byteCount, String field) {
        if (byteCount < 0 || byteCount > remaining()) {
            throw InvalidInputException.forField(file, field,
                    "at most " + remaining() + " remaining bytes at offset " + position, byteCount + " bytes");
        }
    }

    public void skip(long byteCount, String field) {
        require(byteCount, field);
        position += byteCount;
    }

    public byte readInt8(String field) {
        require(1, field);
        return segment.get(ValueLayout.JAVA_BYTE, position++);
    }

    public int readUint8(String field) {
        return Byte.toUnsignedInt(readInt8(field));
    }

    public short readInt16(String field) {
        require(2, field);
        short value = segment.get(SHORT, position);
        position += 2;
        return value;
    }

    public int readUint16(String field) {
        return Short.toUnsignedInt(readInt16(field));
    }

    public int readInt32(String field) {
        require(4, field);
        int value = segment.get(INT, position);
        position += 4;
        return value;
    }

    public long readUint32(String field) {
        return Integer.toUnsignedLong(readInt32(field));
    }

    public long readInt64(String field) {
        require(8, field);
        long value = segment.get(LONG, position);
        position += 8;
        return value;
    }

    /** An unsigned 64-bit count or size; values of 2^63 and above are refused as absurd. */
    public long readUint64(String field) {
        long value = readInt64(field);
        if (value < 0) {
            throw InvalidInputException.forField(file, field, "a size below 2^63", Long.toUnsignedString(value));
        }
        return value;
    }

    public float readFloat32(String field) {
        require(4, field);
        float value = segment.get(FLOAT, position);
        position += 4;
        return value;
    }

    public double readFloat64(String field) {
        require(8, field);
        double value = segment.get(DOUBLE, position);
        position += 8;
        return value;
    }

    public byte[] readBytes(long length, String field) {
        require(length, field);
        if (length > Integer.MAX_VALUE - 8) {
            throw InvalidInputException.forField(file, field, "a length below 2 GiB", length);
        }
        byte[] bytes = segment.asSlice(position, length).toArray(ValueLayout.JAVA_BYTE);
        position += length;
        return bytes;
    }

    /** UTF-8 text; malformed sequences become U+FFFD rather than failing, as the bytes are kept elsewhere when they matter. */
    public String readUtf8(long length, String field) {
        return new String(readBytes(length, field), StandardCharsets.UTF_8);
    }
}
