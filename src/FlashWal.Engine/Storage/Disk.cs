using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using FlashWal.Errors;

namespace FlashWal.Storage;

/// <summary>
/// Every way FlashWal changes a file system: creating and sizing a file, positioned writes, syncs
/// (<c>fsync</c>, <c>fdatasync</c>, a directory's <c>fsync</c>), renames, deletes and
/// directory creation. No other engine code touches the durability of a file; the order in which
/// these are called for each durable step is docs/FORMAT.md §17, and the code follows only that.
/// </summary>
/// <remarks>
/// <para>Every sync is a checked system call: a failure is a <see cref="WalSyncException"/> naming the
/// file, never retried as if it had succeeded (after a failed <c>fsync</c> Linux may have dropped the
/// dirty pages and would report the next one as a success).</para>
/// <para>The methods are virtual so that tests can put a model disk behind the engine (one that keeps
/// only what a sync covered and produces the state a power cut leaves); <see cref="Real"/> is the
/// operating system itself.</para>
/// </remarks>
internal class Disk
{
    /// <summary>The operating system's file system.</summary>
    public static Disk Real { get; } = new();

    /// <summary>Creates <paramref name="path"/>, which must not exist, with <paramref name="length"/> zero bytes allocated. Nothing is durable yet.</summary>
    /// <exception cref="IOException">It exists, or the disk is full.</exception>
    public virtual FileStream CreateNew(string path, long length)
    {
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read | FileShare.Delete,
            PreallocationSize = length,
        });
        try
        {
            stream.SetLength(length);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Opens an existing file for positioned writes (a summary into a segment a crash left open).</summary>
    public virtual FileStream OpenForWrite(string path) =>
        new(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);

    /// <summary>Sets a file's length (zeros when it grows): not durable until the file is synced.</summary>
    public virtual void SetLength(FileStream file, long length) => file.SetLength(length);

    /// <summary>Writes <paramref name="bytes"/> at <paramref name="offset"/> (<c>pwrite</c>): in the page cache, not yet durable.</summary>
    public virtual void Write(FileStream file, ReadOnlySpan<byte> bytes, long offset) =>
        RandomAccess.Write(file.SafeFileHandle, bytes, offset);

    /// <summary>
    /// <see cref="Write(FileStream, ReadOnlySpan{byte}, long)"/> into the file now named
    /// <paramref name="path"/>: a failure is an <see cref="IOException"/> (wrapping .NET's, whose
    /// HResult is the errno) that names the write and <paramref name="path"/>, never the temporary
    /// name the stream was opened under, which .NET's own message names.
    /// </summary>
    public void Write(FileStream file, ReadOnlySpan<byte> bytes, long offset, string path)
    {
        try
        {
            Write(file, bytes, offset);
        }
        catch (IOException e)
        {
            string suffix = $" : '{file.Name}'"; // how .NET appends the handle's path to the reason
            string reason = e.Message.EndsWith(suffix, StringComparison.Ordinal) ? e.Message[..^suffix.Length] : e.Message;
            throw new IOException(string.Create(CultureInfo.InvariantCulture, $"Writing {bytes.Length} bytes at offset {offset} of '{path}' failed: {reason}"), e);
        }
    }

    /// <summary>
    /// <c>fsync</c>: the file's data and size on stable storage. Checked: a failure is a
    /// <see cref="WalSyncException"/> naming <paramref name="path"/> (the file's name now, which a
    /// stream opened under a temporary name does not know).
    /// </summary>
    public virtual void Sync(FileStream file, string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            try
            {
                file.Flush(flushToDisk: true);
            }
            catch (IOException e) when (Renamed(e, file, path) is { } named)
            {
                throw named;
            }

            return;
        }

        if (NativeMethods.fsync(file.SafeFileHandle) != 0)
        {
            throw SyncFailed(path, "fsync");
        }
    }

    /// <summary>
    /// <c>fdatasync</c>: the file's data (and the size and allocation it needs to be read back) on
    /// stable storage, without its timestamps. The active segment's flushes use it: the file is
    /// preallocated, so a timestamp is all an <c>fsync</c> would add, and that costs a journal commit.
    /// Checked like <see cref="Sync"/>.
    /// </summary>
    public virtual void SyncData(FileStream file, string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            Sync(file, path);
            return;
        }

        if (NativeMethods.fdatasync(file.SafeFileHandle) != 0)
        {
            throw SyncFailed(path, "fdatasync");
        }
    }

    /// <summary>Renames <paramref name="from"/> to <paramref name="to"/> (<c>rename</c>; without <paramref name="replace"/>, never over an existing file). Durable once the directory is synced.</summary>
    public virtual void Rename(string from, string to, bool replace) => File.Move(from, to, replace);

    /// <summary>Deletes a file (absent already is fine). Durable once the directory is synced.</summary>
    public virtual void Delete(string path) => File.Delete(path);

    /// <summary><c>fsync</c> of a directory: the names created, renamed or deleted in it are durable. Checked.</summary>
    public virtual void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // no portable way elsewhere; NTFS journals its metadata
        }

        int fd = NativeMethods.open(directory, NativeMethods.ORdonly | NativeMethods.ODirectory);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Cannot open the directory '{directory}' to sync it: {new Win32Exception(errno).Message}");
        }

        try
        {
            if (NativeMethods.fsync(fd) != 0)
            {
                throw SyncFailed(directory, "fsync of the directory");
            }
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    /// <summary>
    /// Creates <paramref name="directory"/> and its missing parents, each one's entry made durable in
    /// its parent (a directory created and not synced into its parent can vanish at a power cut,
    /// with every file in it).
    /// </summary>
    public virtual void CreateDirectory(string directory)
    {
        string full = Path.GetFullPath(directory);
        var missing = new Stack<string>();
        for (string? d = full; d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d))
        {
            missing.Push(d);
        }

        while (missing.TryPop(out string? create))
        {
            Directory.CreateDirectory(create);
            SyncDirectory(Path.GetDirectoryName(create)!);
        }
    }

    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="bytes"/> so that a reader (and a power cut)
    /// sees the old or the new content, never a mix: a temporary file written and synced, renamed over
    /// the file, the directory synced.
    /// </summary>
    public void ReplaceFile(string path, ReadOnlySpan<byte> bytes)
    {
        string temporary = path + ".tmp";
        Delete(temporary);
        using (FileStream stream = CreateNew(temporary, bytes.Length))
        {
            Write(stream, bytes, 0);
            Sync(stream, temporary);
        }

        Rename(temporary, path, replace: true);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>
    /// <paramref name="error"/> naming <paramref name="path"/> where it names the temporary name that
    /// <paramref name="file"/> was opened under (a segment is created as <c>….wal.tmp</c> and renamed);
    /// null when it does not name that name.
    /// </summary>
    private static IOException? Renamed(IOException error, FileStream file, string path)
    {
        string opened = $"'{file.Name}'";
        return file.Name != path && error.Message.Contains(opened, StringComparison.Ordinal)
            ? new IOException(error.Message.Replace(opened, $"'{path}'", StringComparison.Ordinal), error)
            : null;
    }

    private static WalSyncException SyncFailed(string path, string operation) =>
        SyncFailed(path, operation, Marshal.GetLastPInvokeError());

    private static WalSyncException SyncFailed(string path, string operation, int errno) =>
        new(path, operation, errno, new Win32Exception(errno).Message);
}
