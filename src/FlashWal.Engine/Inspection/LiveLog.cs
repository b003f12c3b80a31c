using FlashWal.Recording;

namespace FlashWal.Inspection;

/// <summary>
/// Whether a recorder may be writing a directory while it is read: the one probe of the directory
/// lock that readers (the verifier, the catalog, recovery, the tailer) make.
/// </summary>
/// <remarks>
/// A recorder holds an exclusive lock on <c>wal.lock</c> for as long as it writes, and the kernel
/// drops it when the recorder's process dies. While it is held, the files are in the page cache and
/// change under a reader: the live-log rules apply (a segment read again, prepared segments that
/// appear and vanish). Once it is free, every byte the recorder wrote is visible and the log is at
/// rest: what a power cut can leave (FORMAT.md §9.1) applies instead.
/// </remarks>
internal static class LiveLog
{
    /// <summary>
    /// Whether a recorder holds the directory's lock now (false when there is no lock file or no directory).
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">The lock file cannot be opened for reading, so the answer is unknown.</exception>
    public static bool IsWriterPresent(string directory) => DirectoryLock.IsHeld(directory);

    /// <summary>
    /// <see cref="IsWriterPresent"/>, except that a lock file this process may not open counts as no
    /// recorder: a reader without that right judges the files as they are, at rest.
    /// </summary>
    public static bool IsLive(string directory)
    {
        try
        {
            return DirectoryLock.IsHeld(directory);
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
