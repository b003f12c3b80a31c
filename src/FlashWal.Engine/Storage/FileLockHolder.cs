using System.Globalization;

namespace FlashWal.Storage;

/// <summary>
/// Which process holds the exclusive <c>flock</c> on a file, as the kernel reports it in
/// <c>/proc/locks</c>: always the current holder, from the instant it took the lock, without the
/// holder writing anything (a refused open changes no file, not even <c>wal.owner</c>).
/// </summary>
internal static class FileLockHolder
{
    private const string ProcLocks = "/proc/locks";

    /// <summary>The process id holding an exclusive flock on <paramref name="path"/>, or null when none is seen (not Linux, another pid namespace, a lock on another machine).</summary>
    public static int? Find(string path)
    {
        if (!OperatingSystem.IsLinux() || !TryIdentity(path, out uint major, out uint minor, out ulong inode))
        {
            return null;
        }

        // A line: "1: FLOCK  ADVISORY  WRITE 20587 fe:00:11657413 0 EOF" (device major:minor in hex,
        // inode in decimal); a waiter's line has "->" after the number and is skipped.
        string file = string.Create(CultureInfo.InvariantCulture, $"{major:x2}:{minor:x2}:{inode}");
        try
        {
            foreach (string line in File.ReadLines(ProcLocks))
            {
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length >= 6 && fields[1] == "FLOCK" && fields[3] == "WRITE" && fields[5] == file
                    && int.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0)
                {
                    return pid;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // no /proc here: the caller falls back on what the holder wrote
        }

        return null;
    }

    /// <summary>The device and inode of <paramref name="path"/> (statx: one layout on every architecture).</summary>
    private static unsafe bool TryIdentity(string path, out uint major, out uint minor, out ulong inode)
    {
        major = minor = 0;
        inode = 0;
        byte* buffer = stackalloc byte[NativeMethods.StatxSize];
        try
        {
            if (NativeMethods.statx(NativeMethods.AtFdCwd, path, 0, NativeMethods.StatxIno, buffer) != 0)
            {
                return false;
            }
        }
        catch (EntryPointNotFoundException)
        {
            return false; // a C library older than glibc 2.28
        }

        inode = *(ulong*)(buffer + NativeMethods.StatxInoOffset);
        major = *(uint*)(buffer + NativeMethods.StatxDevMajorOffset);
        minor = *(uint*)(buffer + NativeMethods.StatxDevMinorOffset);
        return true;
    }
}
