using FlashWal.Errors;
using FlashWal.Storage;

namespace FlashWal.Tests.Support;

/// <summary>
/// The real file system, except that the syncs <c>fails</c> picks (by operation: "fsync", "fdatasync",
/// "fsync of the directory", and path) fail as a failing disk makes them fail: the system call's error
/// (EIO) without the sync, as when the kernel gave up writing the pages back. Positioned writes fail
/// too where <see cref="FailsWrite"/> says so (the file's current name, the offset, the length), with
/// the error .NET throws for EIO, which names the path the stream was opened under.
/// </summary>
internal sealed class FailingDisk(Func<string, string, bool> fails) : Disk
{
    private int _failures;

    /// <summary>Which positioned writes fail (EIO): the stream's file, the offset and the length. Null: none.</summary>
    public Func<FileStream, long, int, bool>? FailsWrite { get; init; }

    public override void Write(FileStream file, ReadOnlySpan<byte> bytes, long offset)
    {
        if (FailsWrite?.Invoke(file, offset, bytes.Length) == true)
        {
            Interlocked.Increment(ref _failures);
            throw new IOException($"Input/output error : '{file.Name}'", 5);
        }

        base.Write(file, bytes, offset);
    }

    /// <summary>How many syncs failed.</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>The syncs that succeeded, in order: the operation and the path.</summary>
    public List<(string Operation, string Path)> Synced { get; } = [];

    public override void Sync(FileStream file, string path)
    {
        Check("fsync", path);
        base.Sync(file, path);
        Record("fsync", path);
    }

    public override void SyncData(FileStream file, string path)
    {
        Check("fdatasync", path);
        base.SyncData(file, path);
        Record("fdatasync", path);
    }

    public override void SyncDirectory(string directory)
    {
        Check("fsync of the directory", directory);
        base.SyncDirectory(directory);
        Record("fsync of the directory", directory);
    }

    private void Check(string operation, string path)
    {
        if (fails(operation, path))
        {
            Interlocked.Increment(ref _failures);
            throw new WalSyncException(path, operation, 5, "Input/output error");
        }
    }

    private void Record(string operation, string path)
    {
        lock (Synced)
        {
            Synced.Add((operation, path));
        }
    }

    /// <summary>A copy of <see cref="Synced"/>.</summary>
    public List<(string Operation, string Path)> SyncedSoFar()
    {
        lock (Synced)
        {
            return [.. Synced];
        }
    }
}
