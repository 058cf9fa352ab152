package dev.spikeconv.formats.numpy;

import dev.spikeconv.formats.io.InvalidInputException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** NumPy {@code .npy} version 1.0 files of little-endian float32 matrices, {@code [rows, columns]}. */
public final class NpyFile {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern HEADER = Pattern.compile(
            "\\{'descr': '<f4', 'fortran_order': False, 'shape': \\((\\d+), ?(\\d+)?,?\\), \\}\\s*");

    private NpyFile() {}

    /** Writes {@code rows} as a float32 matrix; every row must have the same length. */
    public static void writeFloat32(Path file, float[][] rows) throws IOException {
        int columns = rows.length == 0 ? 0 : rows[0].length;
        String dictionary = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows.length + ", " + columns + "), }";
        // magic (6) + version (2) + header length (2) + header, padded with spaces and a newline to a multiple of 64
        int unpadded = 10 + dictionary.length() + 1;
        String header = dictionary + " ".repeat((64 - unpadded % 64) % 64) + "\n";
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(MAGIC);
            out.write(new byte[] {1, 0});
            out.write(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length()).array());
            out.write(header.getBytes(StandardCharsets.US_ASCII));
            ByteBuffer buffer = ByteBuffer.allocate(columns * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float[] row : rows) {
                if (row.length != columns) {
                    throw new IllegalArgumentException("rows of " + row.length + " and " + columns + " values");
                }
                buffer.clear();
                buffer.asFloatBuffer().put(row);
                out.write(buffer.array());
            }
        }
    }

    /** Reads a float32 matrix (or vector, as one row) written by NumPy or {@link #writeFloat32}. */
    public static float[][] readFloat32(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer prefix = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
            if (channel.read(prefix) != 10 || !Arrays.equals(Arrays.copyOf(prefix.array(), 6), MAGIC) || prefix.get(6) != 1) {
                throw InvalidInputException.forField(file, "magic", "an .npy file of version 1", "other bytes");
            }
            int headerLength = Short.toUnsignedInt(prefix.getShort(8));
            ByteBuffer header = ByteBuffer.allocate(headerLength);
            channel.read(header);
            Matcher matcher = HEADER.matcher(new String(header.array(), StandardCharsets.US_ASCII));
            if (!matcher.matches()) {
                throw InvalidInputException.forField(file, "header", "a C-order little-endian float32 array of rank 1 or 2", new String(header.array(), StandardCharsets.US_ASCII).strip());
            }
            int rows = matcher.group(2) == null ? 1 : Integer.parseInt(matcher.group(1));
            int columns = Integer.parseInt(matcher.group(2) == null ? matcher.group(1) : matcher.group(2));
            long expected = 10L + headerLength + 4L * rows * columns;
            if (channel.size() != expected) {
                throw InvalidInputException.forField(file, "size", expected + " bytes for " + rows + "x" + columns, channel.size() + " bytes");
            }
            float[][] result = new float[rows][columns];
            ByteBuffer row = ByteBuffer.allocate(columns * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float[] values : result) {
                row.clear();
                while (row.hasRemaining() && channel.read(row) > 0) {
                    // keep reading
                }
                row.flip();
                row.asFloatBuffer().get(values);
            }
            return result;
        }
    }
}
