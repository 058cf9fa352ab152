package dev.spikeconv.converter.bundle;

import dev.spikeconv.formats.hf.SpikingBrainNames;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.FloatEncodings;
import dev.spikeconv.formats.tensor.ScaledInt8Tensor;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * BICLab's released W8ASpike layout ({@code SpikingBrain-7B/W8ASpike}), so their modelling code can
 * load a spikeconv bundle: every int8 weight as float32 already on its int8 grid ({@code code · scale})
 * plus {@code <name>_quantizer.scales} of shape {@code [out, in/128, 1]}. Their quantizer reshapes rows
 * into groups of 128, so the bundle must use group 128 with input widths divisible by 128.
 */
public final class W8ASpikeLayout {
    public static final String FOLDER = "w8aspike";
    public static final int GROUP = 128;
    private static final int CHUNK_ELEMENTS = 1 << 22;

    private W8ASpikeLayout() {}

    /** Why the model cannot be written in this layout, or null when it can. */
    public static String incompatibility(QuantizationOptions quantization, List<Long> projectionInputWidths) {
        if (!quantization.enabled() || quantization.group() != GROUP) {
            return "w8aspike needs int8 weights with groups of 128 inputs (BICLab's quantizer groups 128 inputs)";
        }
        for (long width : projectionInputWidths) {
            if (width % GROUP != 0) {
                return "w8aspike needs every projection input width divisible by 128; this model has " + width;
            }
        }
        return null;
    }

    static void write(ModelDescription bundle, Path folder) throws IOException {
        Files.createDirectories(folder);
        Files.copy(bundle.files().getFirst(), folder.resolve("config.json"));
        List<SafetensorsWriter.TensorEntry> entries = new ArrayList<>();
        Map<String, TensorView> sources = new LinkedHashMap<>();
        for (Map.Entry<String, TensorView> entry : bundle.tensors().entrySet()) {
            String name = SpikingBrainNames.fromCanonical(entry.getKey());
            TensorView tensor = entry.getValue();
            if (tensor instanceof ScaledInt8Tensor int8) {
                entries.add(new SafetensorsWriter.TensorEntry(name, DType.F32, tensor.shape()));
                sources.put(name, tensor);
                Shape scaleShape = Shape.of(tensor.shape().dimension(0), tensor.shape().dimension(1) / GROUP, 1);
                entries.add(new SafetensorsWriter.TensorEntry(name + "_quantizer.scales", DType.F32, scaleShape));
                sources.put(name + "_quantizer.scales", int8.scales());
            }
            else {
                DType type = BundleTensors.storedType(tensor);
                entries.add(new SafetensorsWriter.TensorEntry(name, type == DType.F32 || type == DType.BF16 || type == DType.F16 ? type : DType.F32, tensor.shape()));
                sources.put(name, tensor);
            }
        }
        SafetensorsWriter.write(folder.resolve("model.safetensors"), entries, Map.of("format", "pt"),
                (entry, channel) -> writeFloats(sources.get(entry.name()), entry.dtype(), channel));
    }

    /** Streams a tensor's float values (an int8 weight's are code · scale) in {@code type}, a chunk at a time. */
    private static void writeFloats(TensorView tensor, DType type, WritableByteChannel channel) throws IOException {
        long elements = tensor.shape().elementCount();
        float[] values = new float[(int) Math.min(CHUNK_ELEMENTS, Math.max(1, elements))];
        ByteBuffer bytes = ByteBuffer.allocate(values.length * type.elementSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (long first = 0; first < elements; first += values.length) {
            int count = (int) Math.min(values.length, elements - first);
            tensor.readFloats(first, values, 0, count);
            bytes.clear();
            for (int i = 0; i < count; i++) {
                FloatEncodings.put(bytes, type, values[i]);
            }
            bytes.flip();
            SafetensorsWriter.writeFully(channel, bytes);
        }
    }
}
