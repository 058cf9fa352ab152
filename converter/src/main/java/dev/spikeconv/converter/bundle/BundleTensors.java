package dev.spikeconv.converter.bundle;

import dev.spikeconv.converter.layers.LayerKind;
import dev.spikeconv.converter.quantization.Int8Quantizer;
import dev.spikeconv.converter.quantization.QuantizationError;
import dev.spikeconv.formats.hf.SpikingBrainNames;
import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.model.LayerTensor;
import dev.spikeconv.formats.model.ModelConfig;
import dev.spikeconv.formats.model.ModelDescription;
import dev.spikeconv.formats.model.TensorNames;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.FloatEncodings;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import dev.spikeconv.formats.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

/**
 * Decides every tensor of a bundle and streams its bytes from the source: projections quantized to
 * int8 row block by row block (codes, then their {@code _scale}), other tensors copied in their
 * source dtype (block-quantized GGUF tensors become F32), new GLA parameters from
 * the layer kind's starting values ({@link LayerKind#initialTensors}). A non-finite source value is an input error naming the tensor.
 */
final class BundleTensors {
    /** Elements read and converted at a time: bounds memory whatever the tensor size. */
    private static final int CHUNK_ELEMENTS = 1 << 22;
    private static final Set<LayerTensor> PROJECTIONS = Set.of(LayerTensor.QUERY_WEIGHT, LayerTensor.KEY_WEIGHT, LayerTensor.VALUE_WEIGHT,
            LayerTensor.OUTPUT_WEIGHT, LayerTensor.MLP_GATE_WEIGHT, LayerTensor.MLP_UP_WEIGHT, LayerTensor.MLP_DOWN_WEIGHT);

    private final ModelDescription source;
    private final ModelConfig target;
    private final QuantizationOptions quantization;
    private final Path sourcePath;
    /** Each int8 tensor's error sums, filled as its bytes are written. */
    private final Map<String, QuantizationError.Sums> errors = new ConcurrentHashMap<>();
    private final List<String> quantizedNames = new ArrayList<>();

    BundleTensors(ModelDescription source, ModelConfig target, QuantizationOptions quantization, Path sourcePath) {
        this.source = source;
        this.target = target;
        this.quantization = quantization;
        this.sourcePath = sourcePath;
    }

    /** The bundle's tensors in canonical order, each int8 weight followed by its scale. */
    List<BundleTensor> plan() {
        List<BundleTensor> tensors = new ArrayList<>();
        for (Map.Entry<String, Shape> expected : TensorNames.expected(target).entrySet()) {
            String name = expected.getKey();
            Shape shape = expected.getValue();
            String bundleName = SpikingBrainNames.fromCanonical(name);
            float[] generated = generated(name);
            if (generated != null) {
                tensors.add(new BundleTensor(bundleName, DType.F32, shape, 0, (entry, channel) -> writeFloats(generated, channel)));
            }
            else if (quantized(name)) {
                addQuantized(tensors, bundleName, source.tensor(name));
            }
            else {
                tensors.add(copied(bundleName, source.tensor(name)));
            }
        }
        return tensors;
    }

    /**
     * The relative quantization error {@code ‖w − ŵ‖ / ‖w‖} of every int8 tensor written so far, in the bundle's order
     * (complete once every tensor of {@link #plan} has written its bytes).
     */
    SequencedMap<String, Double> relativeErrors() {
        SequencedMap<String, Double> relative = new LinkedHashMap<>();
        for (String name : quantizedNames) {
            QuantizationError.Sums sums = errors.get(name);
            if (sums != null) {
                relative.put(name, sums.relative());
            }
        }
        return relative;
    }

    private boolean quantized(String name) {
        if (!quantization.enabled()) {
            return false;
        }
        if (name.equals(TensorNames.EMBEDDING)) {
            return quantization.embeddings();
        }
        if (name.equals(TensorNames.LM_HEAD)) {
            return quantization.head();
        }
        for (int layer = 0; layer < target.layerCount(); layer++) {
            for (LayerTensor projection : PROJECTIONS) {
                if (name.equals(projection.name(layer))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** New parameters of a layer kind (GLA's gate and head norm), with its starting values; null for a tensor the source provides. */
    private float[] generated(String name) {
        if (source.tensors().containsKey(name)) {
            return null;
        }
        for (int layer = 0; layer < target.layerCount(); layer++) {
            if (name.startsWith(TensorNames.layerPrefix(layer))) {
                for (Map.Entry<LayerTensor, float[]> tensor : LayerKind.of(target, layer).initialTensors(target, layer).entrySet()) {
                    if (name.equals(tensor.getKey().name(layer))) {
                        return tensor.getValue();
                    }
                }
            }
        }
        return null;
    }

    /** The dtype a copied tensor keeps: its own float type; F32 for block-quantized, integer or reordered F8 tensors. */
    static DType storedType(TensorView tensor) {
        return switch (tensor.dtype()) {
            case F64, F32, F16, BF16 -> tensor.dtype();
            case F8_E4M3, F8_E5M2 -> tensor instanceof StoredTensor ? tensor.dtype() : DType.F32;
            case I64, I32, I16, I8, U8, BOOL, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K -> DType.F32;
        };
    }

    private BundleTensor copied(String bundleName, TensorView tensor) {
        DType type = storedType(tensor);
        if (tensor instanceof StoredTensor stored && stored.dtype() == type) {
            return new BundleTensor(bundleName, type, tensor.shape(), tensor.byteSize(), (entry, channel) -> copyBytes(stored, channel));
        }
        return new BundleTensor(bundleName, type, tensor.shape(), tensor.byteSize(), (entry, channel) -> encode(tensor, type, channel));
    }

    private void addQuantized(List<BundleTensor> tensors, String bundleName, TensorView tensor) {
        int rows = Math.toIntExact(tensor.shape().dimension(0));
        int columns = Math.toIntExact(tensor.shape().dimension(1));
        int group = quantization.groupFor(columns);
        int groups = Int8Quantizer.groupsPerRow(columns, group);
        float[] scales = new float[rows * groups];
        quantizedNames.add(bundleName);
        tensors.add(new BundleTensor(bundleName, DType.I8, tensor.shape(), tensor.byteSize(), (entry, channel) -> {
            // Each chunk is cut into one slice of rows per core, read and quantized in parallel, written in order.
            int slices = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), rows));
            int rowsPerSlice = Math.max(1, CHUNK_ELEMENTS / slices / columns);
            RowSlice[] work = new RowSlice[slices];
            for (int slice = 0; slice < slices; slice++) {
                work[slice] = new RowSlice(new float[rowsPerSlice * columns], new byte[rowsPerSlice * columns], new float[rowsPerSlice * groups]);
            }
            QuantizationError.Sums[] sums = new QuantizationError.Sums[slices];
            QuantizationError.Sums total = QuantizationError.Sums.ZERO;
            for (int chunk = 0; chunk < rows; chunk += rowsPerSlice * slices) {
                int chunkStart = chunk;
                IntStream.range(0, slices).parallel().forEach(slice -> {
                    int first = chunkStart + slice * rowsPerSlice;
                    int count = Math.max(0, Math.min(rowsPerSlice, rows - first));
                    sums[slice] = QuantizationError.Sums.ZERO;
                    if (count > 0) {
                        quantizeRows(tensor, first, count, columns, group, work[slice]);
                        System.arraycopy(work[slice].scales, 0, scales, first * groups, count * groups);
                        sums[slice] = QuantizationError.sums(work[slice].values, work[slice].codes, work[slice].scales, count, columns, group);
                    }
                });
                for (int slice = 0; slice < slices; slice++) {
                    total = total.plus(sums[slice]);
                    int count = Math.max(0, Math.min(rowsPerSlice, rows - (chunkStart + slice * rowsPerSlice)));
                    SafetensorsWriter.writeFully(channel, ByteBuffer.wrap(work[slice].codes, 0, count * columns));
                }
            }
            errors.put(bundleName, total);
        }));
        tensors.add(new BundleTensor(bundleName + SpikingBrainNames.SCALE_SUFFIX, DType.F32, Shape.of(rows, groups), 0,
                (entry, channel) -> writeFloats(scales, channel)));
    }

    /** Buffers for one slice of rows: the weights read as float, their codes and their scales. */
    private record RowSlice(float[] values, byte[] codes, float[] scales) {}

    /** Reads and quantizes {@code count} rows from {@code first}; a non-finite weight shows as a non-finite scale. */
    private void quantizeRows(TensorView tensor, int first, int count, int columns, int group, RowSlice slice) {
        tensor.readFloats((long) first * columns, slice.values, 0, count * columns);
        Int8Quantizer.quantize(slice.values, count, columns, group, slice.codes, slice.scales);
        int groups = Int8Quantizer.groupsPerRow(columns, group);
        for (int i = 0; i < count * groups; i++) {
            if (!Float.isFinite(slice.scales[i])) {
                checkFinite(tensor, slice.values, count * columns, (long) first * columns);
                throw new IllegalStateException(tensor.name() + ": a non-finite scale from finite weights");
            }
        }
    }

    private void copyBytes(StoredTensor tensor, WritableByteChannel channel) throws IOException {
        MemorySegment data = tensor.data();
        // Copied byte for byte; non-finite values are still refused.
        checkFinite(tensor);
        SafetensorsWriter.writeFully(channel, data);
    }

    private void checkFinite(TensorView tensor) {
        long elements = tensor.shape().elementCount();
        float[] values = new float[(int) Math.min(CHUNK_ELEMENTS, Math.max(1, elements))];
        for (long first = 0; first < elements; first += values.length) {
            int count = (int) Math.min(values.length, elements - first);
            tensor.readFloats(first, values, 0, count);
            checkFinite(tensor, values, count, first);
        }
    }

    private void encode(TensorView tensor, DType type, WritableByteChannel channel) throws IOException {
        long elements = tensor.shape().elementCount();
        float[] values = new float[(int) Math.min(CHUNK_ELEMENTS, Math.max(1, elements))];
        ByteBuffer bytes = ByteBuffer.allocate(values.length * type.elementSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (long first = 0; first < elements; first += values.length) {
            int count = (int) Math.min(values.length, elements - first);
            tensor.readFloats(first, values, 0, count);
            checkFinite(tensor, values, count, first);
            bytes.clear();
            for (int i = 0; i < count; i++) {
                FloatEncodings.put(bytes, type, values[i]);
            }
            bytes.flip();
            SafetensorsWriter.writeFully(channel, bytes);
        }
    }

    private void checkFinite(TensorView tensor, float[] values, int count, long firstElement) {
        for (int i = 0; i < count; i++) {
            if (!Float.isFinite(values[i])) {
                throw InvalidInputException.forField(sourcePath, tensor.name() + "[" + (firstElement + i) + "]", "a finite weight", values[i]);
            }
        }
    }

    private static void writeFloats(float[] values, WritableByteChannel channel) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        SafetensorsWriter.writeFully(channel, bytes);
    }
}
