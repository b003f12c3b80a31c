namespace FlashWal.Format;

/// <summary>
/// Where segment <i>i</i> of a directory is now: its plain file (<c>.wal</c>), its compressed
/// container (<c>.walz</c>), or neither (not created yet, deleted by retention or discarded). The
/// only place that looks a segment up by index or follows one that moved since it was listed.
/// </summary>
/// <remarks>
/// A recorder compresses a closed segment by writing the container, renaming it into place and only
/// then deleting the plain file (FORMAT.md §15). So the plain file is looked for first: while both
/// exist they hold the same events, and once the plain file is gone the container is complete.
/// </remarks>
internal static class SegmentLocator
{
    /// <summary>The plain file's path for segment <paramref name="index"/> (whether or not it exists).</summary>
    public static string PlainPath(string directory, long index) => Path.Combine(directory, SegmentFileName.Format(index));

    /// <summary>The compressed container's path for segment <paramref name="index"/> (whether or not it exists).</summary>
    public static string CompressedPath(string directory, long index) => Path.Combine(directory, CompressedSegment.FileName(index));

    /// <summary>Whether <paramref name="path"/> names a compressed container rather than a plain segment file.</summary>
    public static bool IsCompressed(string path) => path.EndsWith(CompressedSegment.Extension, StringComparison.Ordinal);

    /// <summary>The plain file's path for the segment a container at <paramref name="compressedPath"/> holds (whether or not it exists).</summary>
    public static string PlainOf(string compressedPath) => Path.ChangeExtension(compressedPath, SegmentFileName.Extension);

    /// <summary>The file that holds segment <paramref name="index"/> now, plain first; null when neither exists.</summary>
    public static string? Find(string directory, long index)
    {
        string plain = PlainPath(directory, index);
        if (File.Exists(plain))
        {
            return plain;
        }

        string packed = CompressedPath(directory, index);
        return File.Exists(packed) ? packed : null;
    }

    /// <summary>
    /// The container a plain segment file listed earlier was compressed into, when it exists now; null
    /// for a path that is not a plain segment file, or whose container does not exist.
    /// </summary>
    public static string? CompressedSince(string listedPath)
    {
        if (!listedPath.EndsWith(SegmentFileName.Extension, StringComparison.Ordinal))
        {
            return null;
        }

        string compressed = Path.ChangeExtension(listedPath, CompressedSegment.Extension);
        return File.Exists(compressed) ? compressed : null;
    }

    /// <summary>
    /// Where a segment listed earlier at <paramref name="listedPath"/> is now: that path while it exists,
    /// else the container it was compressed into; null when it was deleted.
    /// </summary>
    public static string? Relocate(string listedPath) => File.Exists(listedPath) ? listedPath : CompressedSince(listedPath);
}
