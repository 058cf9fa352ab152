package dev.spikeconv.formats.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.tensor.TensorView;
import java.util.Map;

/** Bit-exact comparisons of loaded models with each other and with the in-memory original. */
public final class ModelAssertions {
    private ModelAssertions() {}

    /** Every canonical tensor equals the original after a round trip through the dtype it was stored in. */
    public static void assertHolds(ModelDescription loaded, TinyModel model) {
        assertThat(loaded.tensors().keySet()).as("canonical tensors of %s", model).containsExactlyElementsOf(model.tensors().keySet());
        for (Map.Entry<String, TensorView> entry : loaded.tensors().entrySet()) {
            TensorView tensor = entry.getValue();
            assertThat(tensor.shape()).as(entry.getKey()).isEqualTo(model.shape(entry.getKey()));
            float[] expected = TensorBytes.rounded(model.tensors().get(entry.getKey()), tensor.dtype());
            assertBitsEqual(tensor.toFloats(), expected, entry.getKey());
        }
    }

    /** The same canonical tensors with the same float bits; a tied head compares as the embedding. */
    public static void assertSameTensors(ModelDescription actual, ModelDescription expected) {
        for (String name : expected.tensors().keySet()) {
            TensorView expectedTensor = expected.tensor(name);
            TensorView actualTensor = name.equals(TensorNames.LM_HEAD) ? actual.outputHead() : actual.tensors().get(name);
            assertThat(actualTensor).as("tensor %s", name).isNotNull();
            assertThat(actualTensor.shape()).as(name).isEqualTo(expectedTensor.shape());
            assertBitsEqual(actualTensor.toFloats(), expectedTensor.toFloats(), name);
        }
        if (!expected.config().tiedEmbeddings() && actual.config().tiedEmbeddings()) {
            return;
        }
        assertBitsEqual(actual.outputHead().toFloats(), expected.outputHead().toFloats(), "output head");
    }

    public static void assertBitsEqual(float[] actual, float[] expected, String what) {
        assertThat(actual.length).as("%s length", what).isEqualTo(expected.length);
        for (int i = 0; i < actual.length; i++) {
            if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[i])) {
                throw new AssertionError(what + "[" + i + "]: expected " + expected[i] + " but was " + actual[i]);
            }
        }
    }
}
