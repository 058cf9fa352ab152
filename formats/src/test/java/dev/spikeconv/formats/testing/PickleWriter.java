package dev.spikeconv.formats.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Emits pickle protocol-2 opcodes, for writing torch.save archives and hand-made hostile pickles in tests. */
public final class PickleWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public PickleWriter protocol() {
        out.write(0x80);
        out.write(2);
        return this;
    }

    public PickleWriter global(String module, String name) {
        out.write('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        return this;
    }

    public PickleWriter stackGlobal(String module, String name) {
        string(module);
        string(name);
        out.write(0x93);
        return this;
    }

    public PickleWriter string(String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        out.write('X');
        writeInt(bytes.length);
        out.writeBytes(bytes);
        return this;
    }

    public PickleWriter integer(long value) {
        if (value >= 0 && value < 256) {
            out.write('K');
            out.write((int) value);
        }
        else if (value >= Integer.MIN_VALUE && value <= Integer.MAX_VALUE) {
            out.write('J');
            writeInt((int) value);
        }
        else {
            out.write(0x8a);
            out.write(8);
            for (int i = 0; i < 8; i++) {
                out.write((int) (value >>> (8 * i)));
            }
        }
        return this;
    }

    public PickleWriter bool(boolean value) {
        out.write(value ? 0x88 : 0x89);
        return this;
    }

    public PickleWriter none() {
        out.write('N');
        return this;
    }

    public PickleWriter mark() {
        out.write('(');
        return this;
    }

    public PickleWriter tupleFromMark() {
        out.write('t');
        return this;
    }

    public PickleWriter emptyTuple() {
        out.write(')');
        return this;
    }

    public PickleWriter emptyDict() {
        out.write('}');
        return this;
    }

    public PickleWriter emptyList() {
        out.write(']');
        return this;
    }

    public PickleWriter append() {
        out.write('a');
        return this;
    }

    public PickleWriter setItem() {
        out.write('s');
        return this;
    }

    public PickleWriter setItems() {
        out.write('u');
        return this;
    }

    public PickleWriter reduce() {
        out.write('R');
        return this;
    }

    public PickleWriter build() {
        out.write('b');
        return this;
    }

    public PickleWriter persistentId() {
        out.write('Q');
        return this;
    }

    public PickleWriter put(int index) {
        out.write('r');
        writeInt(index);
        return this;
    }

    public PickleWriter get(int index) {
        out.write('j');
        writeInt(index);
        return this;
    }

    public PickleWriter stop() {
        out.write('.');
        return this;
    }

    /** Any byte, for opcodes this writer has no method for. */
    public PickleWriter raw(int... bytes) {
        for (int value : bytes) {
            out.write(value);
        }
        return this;
    }

    public PickleWriter raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    public byte[] toByteArray() {
        return out.toByteArray();
    }

    private void writeInt(int value) {
        for (int i = 0; i < 4; i++) {
            out.write(value >>> (8 * i));
        }
    }
}
