package dev.spikeconv.formats.pytorch;

import dev.spikeconv.formats.tensor.DType;
import java.util.List;

/**
 * The values {@link RestrictedUnpickler} builds. Python ints become {@code Long} or {@code BigInteger},
 * floats {@code Double}, str {@code String}, bytes {@code byte[]}, lists {@code ArrayList}, dicts and
 * OrderedDicts {@code LinkedHashMap}; the records below stand for the rest.
 */
final class PickleValues {
    private PickleValues() {}

    /** Python's None. */
    enum None {
        INSTANCE
    }

    /** An immutable Python tuple. */
    record Tuple(List<Object> items) {
        Tuple {
            items = List.copyOf(items.stream().map(item -> item == null ? None.INSTANCE : item).toList());
        }
    }

    /** A module-level name the pickle referred to; only allow-listed ones are ever created. */
    record Global(String module, String name) {
        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    /** A storage of {@code elementCount} elements of {@code dtype}, held in archive entry {@code data/<key>}. */
    record StorageReference(DType dtype, String key, String location, long elementCount) {}

    /** A tensor viewing a storage, as {@code torch._utils._rebuild_tensor_v2} describes it. */
    record TensorReference(StorageReference storage, long storageOffset, long[] size, long[] stride) {}
}
