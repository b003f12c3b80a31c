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
