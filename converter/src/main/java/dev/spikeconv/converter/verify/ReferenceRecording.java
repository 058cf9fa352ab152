package dev.spikeconv.converter.verify;

import dev.spikeconv.formats.io.InvalidInputException;
import dev.spikeconv.formats.safetensors.SafetensorsFile;
import dev.spikeconv.formats.safetensors.SafetensorsWriter;
import dev.spikeconv.formats.tensor.DType;
import dev.spikeconv.formats.tensor.Shape;
import dev.spikeconv.formats.tensor.StoredTensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * The dense model's side of a verification, saved once ({@code --save-reference}) so CI runs can skip the dense model
 * ({@code --reference-logits}): the tokens, the logits, every layer's hidden states and attention shares, in a
 * safetensors file. Read where it lies (mapped), a layer and a sequence at a time; written layer by layer as the dense
 * model advances, through a scratch file beside the recording.
 */
public final class ReferenceRecording implements AutoCloseable {
    static final String TOKENS = "tokens";
    static final String LOGITS = "logits";
    static final String HIDDEN_STATES = "hidden_states";
    static final String ATTENTION_SHARES = "attention_shares";

    private final SafetensorsFile file;
    private final int[] tokens;
    private final StoredTensor logits;
    private final StoredTensor hiddenStates;
    private final double[] attentionShares;
    private final String description;

    private ReferenceRecording(SafetensorsFile file, int[] tokens, StoredTensor logits, StoredTensor hiddenStates, double[] attentionShares, String description) {
        this.file = file;
        this.tokens = tokens;
        this.logits = logits;
        this.hiddenStates = hiddenStates;
        this.attentionShares = attentionShares;
        this.description = description;
    }

    public static ReferenceRecording read(Path path) throws IOException {
        SafetensorsFile safetensors = SafetensorsFile.open(path);
        try {
            Map<String, StoredTensor> tensors = safetensors.tensors();
            for (String name : new String[] {TOKENS, LOGITS, HIDDEN_STATES, ATTENTION_SHARES}) {
                if (!tensors.containsKey(name)) {
                    throw InvalidInputException.forFile(path, "is not a saved verify reference: it has no " + name + " tensor");
                }
            }
            StoredTensor logitsTensor = tensors.get(LOGITS);
            StoredTensor hiddenTensor = tensors.get(HIDDEN_STATES);
            int count = (int) tensors.get(TOKENS).shape().elementCount();
            if (logitsTensor.shape().rank() != 2 || logitsTensor.shape().dimension(0) != count || hiddenTensor.shape().rank() != 3
                    || hiddenTensor.shape().dimension(1) != count || tensors.get(ATTENTION_SHARES).shape().elementCount() != hiddenTensor.shape().dimension(0)) {
                throw InvalidInputException.forFile(path, "has tensors of inconsistent shapes for " + count + " tokens");
            }
            float[] tokenValues = tensors.get(TOKENS).toFloats();
            int[] tokenIds = new int[count];
            for (int i = 0; i < count; i++) {
                tokenIds[i] = (int) tokenValues[i];
            }
            float[] shares = tensors.get(ATTENTION_SHARES).toFloats();
            double[] attentionShares = new double[shares.length];
            for (int i = 0; i < shares.length; i++) {
                attentionShares[i] = shares[i];
            }
            return new ReferenceRecording(safetensors, tokenIds, logitsTensor, hiddenTensor, attentionShares,
                    safetensors.metadata().getOrDefault("reference", path.toString()));
        }
        catch (RuntimeException e) {
            safetensors.close();
            throw e;
        }
    }

    public int[] tokens() {
        return tokens.clone();
    }

    public String description() {
        return description;
    }

    public int vocabulary() {
        return (int) logits.shape().dimension(1);
    }

    public int layers() {
        return (int) hiddenStates.shape().dimension(0);
    }

    public double[] attentionShares() {
        return attentionShares.clone();
    }

    /** The logits of tokens {@code [start, start + count)}, flat {@code [count, vocab]}. */
    public float[] logits(int start, int count) {
        float[] values = new float[count * vocabulary()];
        logits.readFloats((long) start * vocabulary(), values, 0, values.length);
        return values;
    }

    /** The residual stream after {@code layer} for tokens {@code [start, start + count)}, flat {@code [count, hidden]}. */
    public float[] hiddenStates(int layer, int start, int count) {
        int hidden = (int) hiddenStates.shape().dimension(2);
        float[] values = new float[count * hidden];
        hiddenStates.readFloats(((long) layer * tokens.length + start) * hidden, values, 0, values.length);
        return values;
    }

    @Override
    public void close() throws IOException {
        file.close();
    }

    /**
     * Writes a recording as the dense model runs layer by layer: hidden states and logits go to a scratch file beside the
     * target (they can be far larger than the heap), the recording is written from it at the end and the scratch removed.
     */
    public static final class Writer implements AutoCloseable {
        private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        private final Path target;
        private final Path scratch;
        private final int[] tokens;
        private final int layers;
        private final int hidden;
        private final int vocabulary;
        private final Arena arena = Arena.ofShared();
        private final MemorySegment data;

        public Writer(Path target, int[] tokens, int layers, int hidden, int vocabulary) throws IOException {
            this.target = target;
            this.scratch = target.resolveSibling("." + target.getFileName() + ".scratch");
            this.tokens = tokens.clone();
            this.layers = layers;
            this.hidden = hidden;
            this.vocabulary = vocabulary;
            long bytes = 4L * tokens.length * ((long) layers * hidden + vocabulary);
            try (FileChannel channel = FileChannel.open(scratch, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                data = channel.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
            }
        }

        public void hiddenStates(int layer, int start, float[] values) {
            MemorySegment.copy(values, 0, data, FLOAT, 4L * ((long) layer * tokens.length + start) * hidden, values.length);
        }

        public void logits(int start, float[] values) {
            MemorySegment.copy(values, 0, data, FLOAT, 4L * ((long) layers * tokens.length * hidden + (long) start * vocabulary), values.length);
        }

        /** Writes the recording (atomically: a temporary sibling renamed) with the dense model's attention shares. */
        public void finish(double[] attentionShares, String description) throws IOException {
            int count = tokens.length;
            List<SafetensorsWriter.TensorEntry> entries = List.of(
                    new SafetensorsWriter.TensorEntry(TOKENS, DType.I64, Shape.of(count)),
                    new SafetensorsWriter.TensorEntry(LOGITS, DType.F32, Shape.of(count, vocabulary)),
                    new SafetensorsWriter.TensorEntry(HIDDEN_STATES, DType.F32, Shape.of(layers, count, hidden)),
                    new SafetensorsWriter.TensorEntry(ATTENTION_SHARES, DType.F64, Shape.of(layers)));
            long hiddenBytes = 4L * layers * count * hidden;
            Path temporary = target.resolveSibling("." + target.getFileName() + ".tmp");
            Files.deleteIfExists(temporary);
            SafetensorsWriter.write(temporary, entries, Map.of("format", "spikeconv-verify-reference", "reference", description), (entry, channel) -> {
                switch (entry.name()) {
                    case TOKENS -> {
                        ByteBuffer bytes = ByteBuffer.allocate(count * 8).order(ByteOrder.LITTLE_ENDIAN);
                        for (int token : tokens) {
                            bytes.putLong(token);
                        }
                        SafetensorsWriter.writeFully(channel, bytes.flip());
                    }
                    case LOGITS -> copy(channel, hiddenBytes, data.byteSize() - hiddenBytes);
                    case HIDDEN_STATES -> copy(channel, 0, hiddenBytes);
                    default -> {
                        ByteBuffer bytes = ByteBuffer.allocate(layers * 8).order(ByteOrder.LITTLE_ENDIAN);
                        for (double share : attentionShares) {
                            bytes.putDouble(share);
                        }
                        SafetensorsWriter.writeFully(channel, bytes.flip());
                    }
                }
            });
            Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
        }

        private void copy(java.nio.channels.WritableByteChannel channel, long offset, long length) throws IOException {
            long chunk = 1 << 24;
            for (long done = 0; done < length; done += chunk) {
                SafetensorsWriter.writeFully(channel, data.asSlice(offset + done, Math.min(chunk, length - done)).asByteBuffer());
            }
        }

        @Override
        public void close() throws IOException {
            arena.close();
            Files.deleteIfExists(scratch);
        }
    }
}
