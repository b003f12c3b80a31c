namespace FlashWal.Errors;

/// <summary>
/// The one place that turns what the OS says about a path being read into the engine's errors, so
/// that every reader names the path and the problem the same way and no raw
/// <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> reaches a caller.
/// </summary>
internal static class WalFileErrors
{
    /// <summary>The engine error for a failure reading <paramref name="path"/>, a file unless <paramref name="isDirectory"/>.</summary>
    public static WalException Reading(string path, Exception error, bool isDirectory = false) => error switch
    {
        WalException known => known,
        _ when !isDirectory && Directory.Exists(path) => new WalNotAFileException(path), // opening a directory as a file is "access denied" on Unix
        FileNotFoundException or DirectoryNotFoundException => new WalPathNotFoundException(path),
        UnauthorizedAccessException => new WalAccessDeniedException(path, error),
        _ => new WalException($"'{path}' cannot be read: {error.Message}", path, error),
    };

    /// <summary>
    /// Whether <paramref name="error"/> (or an exception it wraps) says a directory cannot be written:
    /// permission denied, a read-only file system, no space left, a quota (.NET reports the errno as
    /// the HResult of an <see cref="IOException"/> on Unix; the Windows codes are those of the same failures).
    /// </summary>
    public static bool IsNotWritable(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is UnauthorizedAccessException
                || (e is IOException && e.HResult is 1 or 13 or 28 or 30 or 122
                    or unchecked((int)0x80070070) or unchecked((int)0x80070027) or unchecked((int)0x80070013)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether the file system of <paramref name="directory"/> has less than <paramref name="bytes"/>
    /// free: after a failed creation, the sign of a full disk that .NET's preallocation error does not
    /// carry (it has no errno). False when it cannot be told.
    /// </summary>
    public static bool HasLessFreeSpaceThan(string directory, long bytes)
    {
        try
        {
            return new DriveInfo(directory).AvailableFreeSpace < bytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="error"/> is an I/O failure that <see cref="Reading"/> translates.</summary>
    public static bool IsIo(Exception error) => error is IOException or UnauthorizedAccessException;

    /// <summary>Opens <paramref name="path"/> for reading, as readers do (others may write, rename or delete it meanwhile).</summary>
    public static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (IsIo(e))
        {
            throw Reading(path, e);
        }
    }

    /// <summary>Reads all of <paramref name="path"/>.</summary>
    public static byte[] ReadAllBytes(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (IsIo(e))
        {
            throw Reading(path, e);
        }
    }
}
