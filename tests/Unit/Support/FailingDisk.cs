using FlashWal.Errors;
using FlashWal.Storage;

namespace FlashWal.Tests.Support;

/// <summary>
/// The real file system, except that the syncs <c>fails</c> picks (by operation: "fsync", "msync",
/// "fsync of the directory", and path) fail as a failing disk makes them fail: the system call's error
/// (EIO) without the sync, as when the kernel gave up writing the pages back.
/// </summary>
internal sealed class FailingDisk(Func<string, string, bool> fails) : Disk
{
    private int _failures;

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

    public override void SyncRange(MappedFile file, long offset, long length, string path)
    {
        Check("msync", path);
        base.SyncRange(file, offset, length, path);
        Record("msync", path);
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
