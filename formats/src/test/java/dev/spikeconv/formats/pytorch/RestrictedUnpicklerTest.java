package dev.spikeconv.formats.pytorch;

import static dev.spikeconv.formats.testing.InputErrors.assertInvalid;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.pytorch.PickleValues.Global;
import dev.spikeconv.formats.pytorch.PickleValues.Tuple;
import dev.spikeconv.formats.testing.PickleWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Hostile pickles are refused before anything of theirs could run, naming what they asked for. */
class RestrictedUnpicklerTest {
    private static final Path FILE = Path.of("evil.bin");

    private static Object load(PickleWriter pickle) {
        return RestrictedUnpickler.load(pickle.toByteArray(), FILE);
    }

    @ParameterizedTest
    @CsvSource({"os, system", "posix, system", "builtins, eval", "builtins, exec", "subprocess, Popen", "torch, load",
                "torch._utils, _rebuild_device_tensor_from_numpy", "__main__, Exploit", "collections, defaultdict"})
    void refusesEveryOtherGlobalWhenItIsNamed(String module, String name) {
        // The pickle would call the global next; it must be refused at GLOBAL, before REDUCE.
        PickleWriter viaGlobal = new PickleWriter().protocol().global(module, name).mark().string("touch /tmp/pwned").tupleFromMark().reduce().stop();
        assertInvalid(() -> load(viaGlobal), "evil.bin", "'" + module + "." + name + "'", "refused");
        PickleWriter viaStackGlobal = new PickleWriter().protocol().stackGlobal(module, name).emptyTuple().reduce().stop();
        assertInvalid(() -> load(viaStackGlobal), "'" + module + "." + name + "'", "refused");
    }

    @Test
    void refusesObjectConstructionOpcodes() {
        // INST ('i') and OBJ ('o') build arbitrary classes in protocol 0/1; NEWOBJ follows a GLOBAL that is already refused.
        assertInvalid(() -> load(new PickleWriter().raw('(').raw('i').raw("os\nsystem\n".getBytes()).stop()), "opcode 0x69", "not allowed");
        assertInvalid(() -> load(new PickleWriter().raw('(').raw('o').stop()), "opcode 0x6f", "not allowed");
        assertInvalid(() -> load(new PickleWriter().protocol().global("collections", "OrderedDict").emptyTuple().raw(0x81).stop()),
                "opcode 0x81", "not allowed");
        assertInvalid(() -> load(new PickleWriter().raw(0x82, 1).stop()), "opcode 0x82"); // EXT1: the copyreg extension registry
    }

    @Test
    void refusesCallingAStorageTypeOrATuple() {
        assertInvalid(() -> load(new PickleWriter().protocol().global("torch", "FloatStorage").emptyTuple().reduce().stop()),
                "'torch.FloatStorage' cannot be called");
        assertInvalid(() -> load(new PickleWriter().protocol().emptyTuple().emptyTuple().reduce().stop()), "REDUCE of");
    }

    @Test
    void refusesBuildOnAnythingButADict() {
        assertInvalid(() -> load(new PickleWriter().protocol().emptyList().emptyDict().build().stop()), "BUILD on");
    }

    @Test
    void survivesDeepNestingWithoutRecursion() {
        PickleWriter pickle = new PickleWriter().protocol();
        int depth = 200_000;
        for (int i = 0; i < depth; i++) {
            pickle.emptyList();
        }
        for (int i = 0; i < depth - 1; i++) {
            pickle.append();
        }
        Object result = load(pickle.stop());
        assertThat(result).isInstanceOf(List.class);
    }

    @Test
    void survivesSelfReferentialStructures() {
        // l = []; l.append(l)
        Object result = load(new PickleWriter().protocol().emptyList().put(0).get(0).append().stop());
        assertThat(result).isInstanceOf(List.class);
        assertThat(((List<?>) result).getFirst()).isSameAs(result);
    }

    @Test
    void refusesMalformedStreams() {
        assertInvalid(() -> load(new PickleWriter().protocol().emptyList()), "without a STOP");
        assertInvalid(() -> load(new PickleWriter().protocol().append().stop()), "stack underflow");
        assertInvalid(() -> load(new PickleWriter().protocol().emptyList().emptyList().stop()), "STOP with 2 values");
        assertInvalid(() -> load(new PickleWriter().protocol().get(7).stop()), "memo slot 7 is empty");
        assertInvalid(() -> load(new PickleWriter().protocol().raw('X', 0xFF, 0xFF, 0xFF, 0x7F).stop()), "exceeds");
        assertInvalid(() -> load(new PickleWriter().protocol().raw('c').raw("os".getBytes())), "GLOBAL name without a newline");
        assertInvalid(() -> load(new PickleWriter().protocol().tupleFromMark().stop()), "no MARK");
    }

    @Test
    void readsTheTorchStateDictShape() {
        byte[] pickle = new dev.spikeconv.formats.testing.TorchZipWriter()
                .add("w", dev.spikeconv.formats.tensor.DType.F32, dev.spikeconv.formats.tensor.Shape.of(2, 3), new byte[24])
                .pickle();
        Object result = RestrictedUnpickler.load(pickle, FILE);
        assertThat(result).isInstanceOf(Map.class);
        PickleValues.TensorReference tensor = (PickleValues.TensorReference) ((Map<?, ?>) result).get("w");
        assertThat(tensor.size()).containsExactly(2, 3);
        assertThat(tensor.stride()).containsExactly(3, 1);
        assertThat(tensor.storage().elementCount()).isEqualTo(6);
        assertThat(new Tuple(List.of(new Global("a", "b"))).items()).hasSize(1);
    }
}
