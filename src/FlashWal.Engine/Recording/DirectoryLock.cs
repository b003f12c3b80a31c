using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Storage;

namespace FlashWal.Recording;

/// <summary>
/// Makes one recorder the only writer of a WAL directory, across threads and processes: an
/// exclusive lock on <c>wal.lock</c> (an OS file lock, released by the kernel if the process dies),
/// and <c>wal.owner</c> naming the holder (<see cref="RecordOwner"/>) so that the next one can say who it is.
/// </summary>
internal sealed class DirectoryLock : IDisposable
{
    /// <summary>The lock file's name (the format's: <see cref="WalDirectory.LockFileName"/>).</summary>
    public const string LockFileName = WalDirectory.LockFileName;

    /// <summary>The file that names the holder (process id, machine, since when; <see cref="WalDirectory.OwnerFileName"/>).</summary>
    public const string OwnerFileName = WalDirectory.OwnerFileName;

    private readonly FileStream _lock;

    private DirectoryLock(string directory, FileStream stream)
    {
        Directory = directory;
        _lock = stream;
    }

    /// <summary>The locked directory.</summary>
    public string Directory { get; }

    /// <summary>How long <see cref="Acquire(string)"/> keeps trying while the lock file is locked.</summary>
    /// <remarks>
    /// A reader's probe (<see cref="Inspection.LiveLog.IsWriterPresent"/>) holds a shared lock for microseconds; a recorder opening
    /// the directory in that instant must not be told another recorder holds it. A real holder holds
    /// for as long as it records, so waiting this long only delays the "locked" error.
    /// </remarks>
    public static readonly TimeSpan LockedRetryWindow = TimeSpan.FromMilliseconds(50);

    /// <summary>Takes the lock of <paramref name="directory"/>, which must exist.</summary>
    /// <exception cref="WalDirectoryLockedException">Another recorder holds it.</exception>
    public static DirectoryLock Acquire(string directory) => Acquire(directory, LockedRetryWindow);

    /// <summary>Takes the lock, trying again for <paramref name="retryFor"/> while it is locked.</summary>
    internal static DirectoryLock Acquire(string directory, TimeSpan retryFor)
    {
        string path = Path.Combine(directory, LockFileName);
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        FileStream stream;
        while (true)
        {
            try
            {
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                break;
            }
            catch (IOException e) when (File.Exists(path) && (IsLockConflict(e) || IsSharingViolation(path)))
            {
                if (System.Diagnostics.Stopwatch.GetElapsedTime(start) >= retryFor)
                {
                    throw new WalDirectoryLockedException(directory, ReadOwner(directory), e);
                }

                Thread.Sleep(1);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new WalDirectoryNotWritableException(directory, e);
            }
        }

        return new DirectoryLock(directory, stream);
    }

    /// <summary>
    /// Writes <c>wal.owner</c> naming this process, once the holder has decided to change the
    /// directory: an open that is refused (a damaged end, a newer format) says "nothing was changed",
    /// and so leaves the previous owner's file as it was.
    /// </summary>
    /// <remarks>
    /// A contender learns the holder from the kernel first (<see cref="ReadOwner"/>), so the time
    /// between <see cref="Acquire(string)"/> and this call does not make it name a previous holder.
    /// </remarks>
    /// <exception cref="WalDirectoryNotWritableException">The owner file cannot be written.</exception>
    public void RecordOwner()
    {
        try
        {
            string owner = string.Create(CultureInfo.InvariantCulture,
                $"pid={Environment.ProcessId} host={Environment.MachineName} since={DateTime.UtcNow:O}\n");
            File.WriteAllText(Path.Combine(Directory, OwnerFileName), owner);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WalDirectoryNotWritableException(Directory, e);
        }
    }

    /// <summary>
    /// Whether the open failed on a lock: <c>EWOULDBLOCK</c> from <c>flock</c> (11 on Linux, 35 on
    /// macOS; .NET reports the errno as the HResult) or a Windows sharing or lock violation. This
    /// includes a reader's shared probe, which <see cref="IsSharingViolation"/> alone cannot see.
    /// </summary>
    private static bool IsLockConflict(IOException e) =>
        e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    /// <summary>Whether the lock file exists but is locked against readers too (rather than unwritable).</summary>
    private static bool IsSharingViolation(string path)
    {
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return false; // readable and not locked against readers: the failure was something else
        }
        catch (IOException)
        {
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// The process id of the recorder holding the directory: the kernel's word (<c>/proc/locks</c>),
    /// right from the instant the lock was taken; else what the holder wrote in <c>wal.owner</c> (a
    /// holder on another machine of a shared file system); null when neither says.
    /// </summary>
    public static int? ReadOwner(string directory) =>
        FileLockHolder.Find(Path.Combine(directory, LockFileName)) ?? ReadOwnerFile(directory);

    /// <summary>The process id the holder wrote in <c>wal.owner</c>, or null when it cannot be read.</summary>
    private static int? ReadOwnerFile(string directory)
    {
        try
        {
            string text = File.ReadAllText(Path.Combine(directory, OwnerFileName));
            int at = text.IndexOf("pid=", StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            int end = text.IndexOf(' ', at);
            return int.TryParse(text.AsSpan(at + 4, (end < 0 ? text.Length : end) - at - 4), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Releases the lock. The owner file stays: it is only read while the lock is held by someone.</summary>
    public void Dispose() => _lock.Dispose();
}
