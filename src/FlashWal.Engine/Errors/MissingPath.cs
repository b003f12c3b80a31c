namespace FlashWal.Errors;

/// <summary>
/// The one decision about a path that <see cref="File.Exists(string)"/> and
/// <see cref="Directory.Exists(string)"/> both deny: those calls also answer false for a path that
/// exists but cannot be looked at (a parent directory without search permission), so "does not
/// exist" would be a false statement there.
/// </summary>
internal static class MissingPath
{
    /// <summary>
    /// The error to throw for <paramref name="path"/>: <see cref="WalPathNotFoundException"/> when
    /// nothing is there, <see cref="WalAccessDeniedException"/> (carrying the file system's own
    /// message) when it cannot be looked at.
    /// </summary>
    public static WalException Error(string path)
    {
        try
        {
            _ = File.GetAttributes(path);
        }
        catch (UnauthorizedAccessException e)
        {
            return new WalAccessDeniedException(path, e);
        }
        catch (IOException)
        {
            return new WalPathNotFoundException(path); // FileNotFound, DirectoryNotFound (a parent is missing or is a file)
        }

        return new WalPathNotFoundException(path); // it appeared meanwhile: report what was seen
    }

    /// <summary>The nearest ancestor of <paramref name="path"/> that exists, when it is a file rather than a directory.</summary>
    public static string? FileAmongParents(string path)
    {
        for (string? parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(path)); !string.IsNullOrEmpty(parent); parent = Path.GetDirectoryName(parent))
        {
            if (File.Exists(parent))
            {
                return parent;
            }

            if (Directory.Exists(parent))
            {
                return null;
            }
        }

        return null;
    }
}
