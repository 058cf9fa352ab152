package dev.spikeconv.converter.bundle;

import dev.spikeconv.converter.InvalidOptionException;
import dev.spikeconv.formats.io.FileTrees;
import dev.spikeconv.formats.json.JsonDocuments;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** Staging folders beside a bundle, the lock that keeps two writers apart, and the swap that makes a finished one visible at once. */
final class BundleFolders {
    /**
     * Staging folders and lock files this process holds: on Ctrl-C or a kill (SIGINT, SIGTERM) the JVM's shutdown
     * hook removes them, so an interrupted write leaves nothing behind (a SIGKILL leaves them to the next writer).
     */
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    /**
     * Old bundles set aside by a {@link #replace} in progress, each with the target it was moved from: interrupted
     * before the new bundle took its place, the old one goes back; after, it is removed.
     */
    private static final Map<Path, Path> SET_ASIDE = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("spikeconv-cleanup").unstarted(() -> {
            SET_ASIDE.forEach((previous, target) -> {
                try {
                    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                        deleteWhileWritten(previous);
                    }
                    else if (Files.exists(previous, LinkOption.NOFOLLOW_LINKS)) {
                        Files.move(previous, target, StandardCopyOption.ATOMIC_MOVE);
                    }
                }
                catch (IOException ignored) {
                    // the next writer removes what is left
                }
            });
            for (Path path : List.copyOf(HELD)) {
                if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                    deleteWhileWritten(path);
                }
                else {
                    try {
                        Files.deleteIfExists(path);
                    }
                    catch (IOException ignored) {
                        // the process is ending; the next writer removes what is left
                    }
                }
            }
        }));
    }

    private BundleFolders() {}

    /**
     * Deletes {@code folder} while the interrupted writer may still be adding to it or deleting it itself: a walk that meets
     * a file made or removed meanwhile fails, so it is tried again.
     */
    private static void deleteWhileWritten(Path folder) {
        for (int attempt = 0; attempt < 10 && Files.exists(folder, LinkOption.NOFOLLOW_LINKS); attempt++) {
            FileTrees.deleteQuietly(folder);
        }
    }

    /**
     * Takes {@code .<name>.lock} beside {@code target} for this process: a second spikeconv writing the
     * same output is refused instead of racing. The operating system drops the lock when a process dies,
     * so staging folders left by a killed run are removed here, as nobody else can be writing them.
     * The lock file is deleted on release, while still locked; a process that locked a file that was
     * deleted meanwhile sees that the path no longer names it and tries again. What a killed run left (its lock file,
     * its staging folders) is taken over or removed with a line to {@code notes}, so the user knows where it went.
     */
    static Closeable lock(Path target, Consumer<String> notes) throws IOException {
        Path parent = target.getParent();
        Files.createDirectories(parent);
        Path lockFile = parent.resolve("." + target.getFileName() + ".lock");
        for (int attempt = 0; attempt < 10; attempt++) {
            // A lock file that exists and can be locked was left by a process that died without releasing it.
            boolean leftBehind = Files.exists(lockFile);
            FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            }
            catch (IOException | OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                channel.close();
                throw new FileSystemException(target.toString(), null, "another spikeconv is writing it (" + lockFile.getFileName() + " is locked)");
            }
            if (!namesLockedFile(lockFile, channel)) {
                lock.release();
                channel.close();
                continue;
            }
            List<String> removed = new ArrayList<>();
            try (DirectoryStream<Path> stale = Files.newDirectoryStream(parent, "." + target.getFileName() + ".{tmp,old}-*")) {
                stale.forEach(folder -> {
                    removed.add(folder.getFileName().toString());
                    deleteQuietly(folder);
                });
            }
            if (leftBehind || !removed.isEmpty()) {
                notes.accept("an interrupted spikeconv left " + (leftBehind ? lockFile.getFileName() + (removed.isEmpty() ? "" : " and ") : "")
                        + (removed.isEmpty() ? "" : String.join(", ", removed)) + " beside " + target + ": taken over" + (removed.isEmpty() ? "" : " and removed"));
            }
            FileLock held = lock;
            HELD.add(lockFile);
            return () -> {
                try {
                    Files.deleteIfExists(lockFile);
                }
                finally {
                    HELD.remove(lockFile);
                    held.release();
                    channel.close();
                }
            };
        }
        throw new FileSystemException(target.toString(), null, "could not take " + lockFile.getFileName() + ": it keeps being replaced");
    }

    /**
     * Whether {@code lockFile} still names the file {@code channel} locked, and not one made after a
     * release deleted it: the holder writes its own mark into the file and reads it back by path.
     */
    private static boolean namesLockedFile(Path lockFile, FileChannel channel) throws IOException {
        byte[] mark = (ProcessHandle.current().pid() + " " + System.nanoTime() + "\n").getBytes(StandardCharsets.US_ASCII);
        channel.truncate(0);
        channel.write(ByteBuffer.wrap(mark), 0);
        try {
            return Arrays.equals(Files.readAllBytes(lockFile), mark);
        }
        catch (NoSuchFileException e) {
            return false;
        }
    }

    /**
     * Refuses to replace {@code target} unless spikeconv may: an empty folder, or a folder that is itself a spikeconv
     * bundle (its config says so), and never the current folder, a folder holding it, the input, or a folder holding the
     * input. A user's other files are never deleted by {@code --force}.
     */
    static void checkReplaceable(Path target, Path input) throws IOException {
        Path real = target.toRealPath();
        Path workingFolder = Path.of("").toAbsolutePath().toRealPath();
        Path realInput = input.toAbsolutePath().toRealPath();
        if (workingFolder.startsWith(real)) {
            throw new InvalidOptionException("force", "will not replace " + target + ": it is the current folder or holds it");
        }
        if (realInput.startsWith(real)) {
            throw new InvalidOptionException("force", "will not replace " + target + ": it is the input or holds it");
        }
        if (!Files.isDirectory(real, LinkOption.NOFOLLOW_LINKS)) {
            throw new InvalidOptionException("force", "will not replace " + target + ": it is a file, not a bundle");
        }
        boolean empty;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(real)) {
            empty = !entries.iterator().hasNext();
        }
        if (!empty && !isBundle(real)) {
            throw new InvalidOptionException("force", "will not replace " + target + ": it holds files and is not a spikeconv bundle "
                    + "(choose a new or empty folder)");
        }
    }

    /** Whether {@code folder}'s config.json is a spikeconv bundle's: model type gla_swa with a spikeconv section. */
    static boolean isBundle(Path folder) {
        Path config = folder.resolve("config.json");
        if (!Files.isRegularFile(config, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try {
            var json = JsonDocuments.read(config, 1 << 24);
            return "gla_swa".equals(json.path("model_type").asText()) && json.path("spikeconv").isObject();
        }
        catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** A hidden, empty sibling of {@code target}, readable like any folder the user makes. */
    static Path createStaging(Path target) throws IOException {
        Path parent = target.getParent();
        Files.createDirectories(parent);
        Path staging = Files.createTempDirectory(parent, "." + target.getFileName() + ".tmp-");
        HELD.add(staging);
        // createTempDirectory makes it private (0700).
        if (Files.getFileStore(staging).supportsFileAttributeView("posix")) {
            Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return staging;
    }

    /**
     * Moves the finished staging folder to {@code target}; an old {@code target} is set aside first and removed last.
     * Every file is flushed to disk before the rename and the rename itself after it, so that after a power loss
     * {@code target} is either the old bundle or the complete new one, never renamed files whose data was lost.
     */
    static void replace(Path staging, Path target) throws IOException {
        syncTree(staging);
        Path previous = null;
        if (Files.exists(target)) {
            previous = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".old-");
            Files.delete(previous);
            SET_ASIDE.put(previous, target);
            Files.move(target, previous, StandardCopyOption.ATOMIC_MOVE);
        }
        try {
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (AtomicMoveNotSupportedException e) {
            Files.move(staging, target);
        }
        catch (IOException e) {
            if (previous != null) {
                Files.move(previous, target, StandardCopyOption.ATOMIC_MOVE);
                SET_ASIDE.remove(previous);
            }
            throw e;
        }
        HELD.remove(staging);
        syncDirectory(target.getParent());
        if (previous != null) {
            FileTrees.deleteQuietly(previous);
            SET_ASIDE.remove(previous);
        }
    }

    /** fsync of every file and folder under {@code root}, folders after their contents. */
    private static void syncTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
                    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
                        channel.force(true);
                    }
                }
                else if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                    syncDirectory(path);
                }
            }
        }
    }

    /** Linux flushes a folder's entries when it is opened for reading and forced; other systems may refuse, which only costs durability. */
    private static void syncDirectory(Path directory) throws IOException {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        }
        catch (IOException e) {
            if (Files.isDirectory(directory)) {
                return;
            }
            throw e;
        }
    }

    static long size(Path directory) throws IOException {
        try (Stream<Path> files = Files.walk(directory)) {
            long total = 0;
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                total += Files.size(file);
            }
            return total;
        }
    }

    static void deleteQuietly(Path directory) {
        HELD.remove(directory);
        FileTrees.deleteQuietly(directory);
    }
}
