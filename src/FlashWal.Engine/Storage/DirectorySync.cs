using System.ComponentModel;
using System.Runtime.InteropServices;

namespace FlashWal.Storage;

/// <summary>Makes a directory's entries (a create, a rename) durable.</summary>
internal static class DirectorySync
{
    /// <summary>fsync the directory on Linux; elsewhere the platform gives no portable way, and NTFS journals metadata.</summary>
    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        int fd = NativeMethods.open(directory, NativeMethods.ORdonly | NativeMethods.ODirectory);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to flush it: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }

        try
        {
            if (NativeMethods.fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
            }
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }
}
