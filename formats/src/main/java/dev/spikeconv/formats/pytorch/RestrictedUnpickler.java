package dev.spikeconv.formats.pytorch;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.pytorch.PickleValues.Global;
import dev.spikeconv.formats.pytorch.PickleValues.None;
import dev.spikeconv.formats.pytorch.PickleValues.StorageReference;
import dev.spikeconv.formats.pytorch.PickleValues.TensorReference;
import dev.spikeconv.formats.pytorch.PickleValues.Tuple;
import dev.spikeconv.formats.tensor.DType;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads the pickle of a {@code torch.save} archive without executing anything. It interprets the
 * opcodes itself and knows a handful of globals by name: the tensor-rebuild functions, the typed
 * storage classes and {@code collections.OrderedDict}. Any other global is refused the moment the
 * pickle names it, before any later opcode runs.
 */
final class RestrictedUnpickler {
    private static final String REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
    private static final String REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
    private static final String ORDERED_DICT = "collections.OrderedDict";
    private static final Map<String, DType> STORAGE_TYPES = Map.of(
            "torch.DoubleStorage", DType.F64,
            "torch.FloatStorage", DType.F32,
            "torch.HalfStorage", DType.F16,
            "torch.BFloat16Storage", DType.BF16,
            "torch.LongStorage", DType.I64,
            "torch.IntStorage", DType.I32,
            "torch.ShortStorage", DType.I16,
            "torch.CharStorage", DType.I8,
            "torch.ByteStorage", DType.U8,
            "torch.BoolStorage", DType.BOOL);
    private static final Pattern STORAGE_KEY = Pattern.compile("[A-Za-z0-9_]{1,64}");
    private static final int MAX_TENSOR_RANK = 16;
    private static final Object MARK = new Object();

    private final ByteBuffer input;
    private final Path file;
    private final List<Object> stack = new ArrayList<>();
    private final Deque<Integer> marks = new ArrayDeque<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private RestrictedUnpickler(byte[] pickle, Path file) {
        this.input = ByteBuffer.wrap(pickle).order(ByteOrder.LITTLE_ENDIAN);
        this.file = file;
    }

    /** The object the pickle describes; {@code file} names the archive in messages. */
    static Object load(byte[] pickle, Path file) {
        return new RestrictedUnpickler(pickle, file).run();
    }

    private Object run() {
        while (true) {
            if (!input.hasRemaining()) {
                throw fail("ends without a STOP opcode");
            }
            int offset = input.position();
            int opcode = input.get() & 0xFF;
            switch (opcode) {
                case 0x80 -> readUnsigned(1); // PROTO
                case 0x95 -> readLength(8); // FRAME: a hint for buffered readers
                case '(' -> {
                    marks.push(stack.size());
                    stack.add(MARK);
                }
                case '.' -> {
                    if (stack.size() != 1 || !marks.isEmpty()) {
                        throw fail("STOP with " + stack.size() + " values on the stack");
                    }
                    return stack.getFirst();
                }
                case '0' -> pop();
                case '1' -> popMark();
                case '2' -> push(peek());
                case 'N' -> push(None.INSTANCE);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) input.getInt(advance(4)));
                case 'K' -> push(readUnsigned(1));
                case 'M' -> push(readUnsigned(2));
                case 0x8a -> push(readLong(readUnsigned(1)));
                case 0x8b -> push(readLong(readLength(4)));
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(input.getLong(advance(8))))); // big-endian
                case 'X' -> push(readString(readLength(4)));
                case 0x8c -> push(readString(readUnsigned(1)));
                case 0x8d -> push(readString(readLength(8)));
                case 'T' -> push(readLatin1(readLength(4)));
                case 'U' -> push(readLatin1(readUnsigned(1)));
                case 'B' -> push(readBytes(readLength(4)));
                case 'C' -> push(readBytes((int) readUnsigned(1)));
                case 0x8e -> push(readBytes(readLength(8)));
                case ')' -> push(new Tuple(List.of()));
                case 't' -> push(new Tuple(popMark()));
                case 0x85 -> push(new Tuple(popItems(1)));
                case 0x86 -> push(new Tuple(popItems(2)));
                case 0x87 -> push(new Tuple(popItems(3)));
                case ']' -> push(new ArrayList<>());
                case 'l' -> push(new ArrayList<>(popMark()));
                case 'a' -> {
                    Object item = pop();
                    asList(peek(), "APPEND").add(item);
                }
                case 'e' -> {
                    List<Object> items = popMark();
                    asList(peek(), "APPENDS").addAll(items);
                }
                case '}' -> push(new LinkedHashMap<>());
                case 'd' -> push(toDict(popMark(), new LinkedHashMap<>()));
                case 's' -> {
                    Object value = pop();
                    Object key = pop();
                    asDict(peek(), "SETITEM").put(key, value);
                }
                case 'u' -> {
                    List<Object> items = popMark();
                    toDict(items, asDict(peek(), "SETITEMS"));
                }
                case 'q' -> memo.put(readUnsigned(1), peek());
                case 'r' -> memo.put(readUnsigned(4), peek());
                case 0x94 -> memo.put((long) memo.size(), peek());
                case 'h' -> push(memoGet(readUnsigned(1)));
                case 'j' -> push(memoGet(readUnsigned(4)));
                case 'c' -> push(global(readLine(), readLine()));
                case 0x93 -> {
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String moduleName) || !(name instanceof String globalName)) {
                        throw fail("STACK_GLOBAL needs two strings");
                    }
                    push(global(moduleName, globalName));
                }
                case 'R' -> {
                    Object arguments = pop();
                    Object callable = pop();
                    push(reduce(callable, arguments));
                }
                case 'b' -> {
                    pop(); // state: only an OrderedDict's attributes (torch's _metadata), which carry no weights
                    if (!(peek() instanceof Map<?, ?>)) {
                        throw fail("BUILD on " + describe(peek()) + "; only an OrderedDict may carry state");
                    }
                }
                case 'Q' -> push(persistentLoad(pop()));
                default -> throw fail(String.format("opcode 0x%02x at offset %d is not allowed", opcode, offset));
            }
        }
    }

    private Object global(String module, String name) {
        String qualified = module + "." + name;
        if (!qualified.equals(REBUILD_TENSOR) && !qualified.equals(REBUILD_PARAMETER) && !qualified.equals(ORDERED_DICT)
                && !STORAGE_TYPES.containsKey(qualified)) {
            throw InvalidInputException.forFile(file, "pickle names the global '" + qualified
                    + "', which is refused: only torch tensor-rebuild functions, storage types and collections.OrderedDict are allowed");
        }
        return new Global(module, name);
    }

    private Object reduce(Object callable, Object arguments) {
        if (!(callable instanceof Global global) || !(arguments instanceof Tuple tuple)) {
            throw fail("REDUCE of " + describe(callable) + " with " + describe(arguments));
        }
        List<Object> items = tuple.items();
        return switch (global.toString()) {
            case ORDERED_DICT -> {
                if (items.isEmpty()) {
                    yield new LinkedHashMap<>();
                }
                if (items.size() == 1 && items.getFirst() instanceof List<?> pairs) {
                    Map<Object, Object> dict = new LinkedHashMap<>();
                    for (Object pair : pairs) {
                        if (!(pair instanceof Tuple entry) || entry.items().size() != 2) {
                            throw fail("OrderedDict item is not a pair");
                        }
                        dict.put(entry.items().get(0), entry.items().get(1));
                    }
                    yield dict;
                }
                throw fail("OrderedDict called with unexpected arguments");
            }
            case REBUILD_TENSOR -> rebuildTensor(items);
            case REBUILD_PARAMETER -> {
                if (items.size() < 1 || !(items.getFirst() instanceof TensorReference tensor)) {
                    throw fail("_rebuild_parameter without a tensor");
                }
                yield tensor;
            }
            default -> throw fail("'" + global + "' cannot be called");
        };
    }

    private TensorReference rebuildTensor(List<Object> items) {
        if (items.size() < 6 || items.size() > 7 || !(items.get(0) instanceof StorageReference storage)
                || !(items.get(1) instanceof Long storageOffset) || !(items.get(2) instanceof Tuple size)
                || !(items.get(3) instanceof Tuple stride)) {
            throw fail("_rebuild_tensor_v2 expects (storage, offset, size, stride, requires_grad, hooks[, metadata])");
        }
        long[] sizes = dimensions(size, "size");
        long[] strides = dimensions(stride, "stride");
        if (sizes.length != strides.length) {
            throw fail("tensor size " + size.items() + " and stride " + stride.items() + " differ in rank");
        }
        if (storageOffset < 0) {
            throw fail("negative storage offset " + storageOffset);
        }
        return new TensorReference(storage, storageOffset, sizes, strides);
    }

    private long[] dimensions(Tuple tuple, String what) {
        if (tuple.items().size() > MAX_TENSOR_RANK) {
            throw fail("tensor " + what + " of rank " + tuple.items().size() + " exceeds " + MAX_TENSOR_RANK);
        }
        long[] values = new long[tuple.items().size()];
        for (int i = 0; i < values.length; i++) {
            if (!(tuple.items().get(i) instanceof Long value) || value < 0) {
                throw fail("tensor " + what + " " + tuple.items() + " is not a tuple of non-negative integers");
            }
            values[i] = value;
        }
        return values;
    }

    private StorageReference persistentLoad(Object pid) {
        if (!(pid instanceof Tuple tuple) || tuple.items().size() != 5 || !"storage".equals(tuple.items().get(0))
                || !(tuple.items().get(1) instanceof Global type) || !(tuple.items().get(2) instanceof String key)
                || !(tuple.items().get(3) instanceof String location) || !(tuple.items().get(4) instanceof Long elementCount)) {
            throw fail("persistent id " + describe(pid) + " is not ('storage', type, key, location, numel)");
        }
        DType dtype = STORAGE_TYPES.get(type.toString());
        if (dtype == null) {
            throw fail("'" + type + "' is not a storage type");
        }
        if (!STORAGE_KEY.matcher(key).matches()) {
            throw fail("storage key '" + key + "' is not a plain name");
        }
        if (elementCount < 0) {
            throw fail("storage of " + elementCount + " elements");
        }
        return new StorageReference(dtype, key, location, elementCount);
    }

    private Map<Object, Object> toDict(List<Object> items, Map<Object, Object> dict) {
        if (items.size() % 2 != 0) {
            throw fail("odd number of dict items");
        }
        for (int i = 0; i < items.size(); i += 2) {
            dict.put(items.get(i), items.get(i + 1));
        }
        return dict;
    }

    @SuppressWarnings("unchecked")
    private List<Object> asList(Object value, String opcode) {
        if (value instanceof ArrayList<?> list) {
            return (List<Object>) list;
        }
        throw fail(opcode + " on " + describe(value));
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> asDict(Object value, String opcode) {
        if (value instanceof LinkedHashMap<?, ?> dict) {
            return (Map<Object, Object>) dict;
        }
        throw fail(opcode + " on " + describe(value));
    }

    private Object memoGet(long index) {
        Object value = memo.get(index);
        if (value == null) {
            throw fail("memo slot " + index + " is empty");
        }
        return value;
    }

    private void push(Object value) {
        stack.add(value);
    }

    private Object peek() {
        if (stack.isEmpty() || stack.getLast() == MARK) {
            throw fail("stack underflow");
        }
        return stack.getLast();
    }

    private Object pop() {
        Object value = peek();
        stack.removeLast();
        return value;
    }

    private List<Object> popItems(int count) {
        if (stack.size() < count) {
            throw fail("stack underflow");
        }
        List<Object> items = new ArrayList<>(stack.subList(stack.size() - count, stack.size()));
        if (items.contains(MARK)) {
            throw fail("stack underflow");
        }
        stack.subList(stack.size() - count, stack.size()).clear();
        return items;
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) {
            throw fail("no MARK on the stack");
        }
        int mark = marks.pop();
        List<Object> items = new ArrayList<>(stack.subList(mark + 1, stack.size()));
        stack.subList(mark, stack.size()).clear();
        return items;
    }

    private int advance(int length) {
        if (input.remaining() < length) {
            throw fail("truncated at offset " + input.position());
        }
        int position = input.position();
        input.position(position + length);
        return position;
    }

    private long readUnsigned(int bytes) {
        int position = advance(bytes);
        long value = 0;
        for (int i = bytes - 1; i >= 0; i--) {
            value = (value << 8) | (input.get(position + i) & 0xFF);
        }
        return value;
    }

    /** A length field; never more than the bytes left, so nothing absurd gets allocated. */
    private int readLength(int bytes) {
        long length = bytes == 8 ? input.getLong(advance(8)) : readUnsigned(bytes);
        if (length < 0 || length > input.remaining()) {
            throw fail("length " + length + " exceeds the " + input.remaining() + " bytes left");
        }
        return (int) length;
    }

    private Object readLong(long length) {
        if (length > input.remaining()) {
            throw fail("integer of " + length + " bytes exceeds the input");
        }
        byte[] littleEndian = readBytes((int) length);
        byte[] bigEndian = new byte[littleEndian.length];
        for (int i = 0; i < littleEndian.length; i++) {
            bigEndian[i] = littleEndian[littleEndian.length - 1 - i];
        }
        BigInteger value = bigEndian.length == 0 ? BigInteger.ZERO : new BigInteger(bigEndian);
        return value.bitLength() < 64 ? (Object) value.longValue() : value;
    }

    private byte[] readBytes(int length) {
        byte[] bytes = new byte[length];
        input.get(advance(length), bytes);
        return bytes;
    }

    private String readString(long length) {
        return new String(readBytes((int) length), StandardCharsets.UTF_8);
    }

    private String readLatin1(long length) {
        return new String(readBytes((int) length), StandardCharsets.ISO_8859_1);
    }

    private String readLine() {
        int start = input.position();
        int end = start;
        while (end < input.limit() && input.get(end) != '\n') {
            end++;
            if (end - start > 256) {
                throw fail("GLOBAL name longer than 256 bytes");
            }
        }
        if (end >= input.limit()) {
            throw fail("GLOBAL name without a newline");
        }
        byte[] bytes = new byte[end - start];
        input.get(start, bytes);
        input.position(end + 1);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static String describe(Object value) {
        return switch (value) {
            case null -> "nothing";
            case Global global -> "'" + global + "'";
            case Tuple tuple -> "a tuple of " + tuple.items().size();
            case Map<?, ?> map -> "a dict of " + map.size();
            case List<?> list -> "a list of " + list.size();
            default -> "a " + value.getClass().getSimpleName();
        };
    }

    private InvalidInputException fail(String problem) {
        return InvalidInputException.forFile(file, "data.pkl: " + problem);
    }
}
