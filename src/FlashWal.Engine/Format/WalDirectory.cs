namespace FlashWal.Format;

/// <summary>What a WAL directory holds, by file name alone.</summary>
/// <param name="Directory">Full path of the directory.</param>
/// <param name="Segments">Segment files, ordered by index.</param>
/// <param name="Temporary">Segment creations a crash interrupted (hold no event).</param>
/// <param name="Other">Any other file (sub-directories are not listed).</param>
/// <param name="Metadata">The recorder's own files: lock, owner, checkpoint.</param>
/// <param name="Duplicates">Compressed copies of segments whose plain file still exists (an interrupted compression).</param>
public sealed record WalDirectoryListing(
    string Directory,
    IReadOnlyList<(long Index, string Path)> Segments,
    IReadOnlyList<string> Temporary,
    IReadOnlyList<string> Other,
    IReadOnlyList<string> Metadata,
    IReadOnlyList<string> Duplicates);

/// <summary>Lists WAL directories.</summary>
public static class WalDirectory
{
    /// <summary>The file a recorder holds an exclusive lock on while it writes the directory (FORMAT.md §3).</summary>
    public const string LockFileName = "wal.lock";

    /// <summary>The file that names the lock's holder (process id, machine, since when; FORMAT.md §3).</summary>
    public const string OwnerFileName = "wal.owner";

    /// <summary>Files a recorder keeps beside its segments.</summary>
    public static IReadOnlySet<string> MetadataFileNames { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        LockFileName, OwnerFileName, MetaCheckpoint.FileName, MetaCheckpoint.FileName + ".tmp",
    };

    /// <summary>Lists <paramref name="directory"/>.</summary>
    /// <exception cref="Errors.WalPathNotFoundException">It does not exist.</exception>
    /// <exception cref="Errors.WalNotADirectoryException">It is a file, not a directory.</exception>
    /// <exception cref="Errors.WalAccessDeniedException">It may not be listed.</exception>
    public static WalDirectoryListing List(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        directory = Path.GetFullPath(directory);
        if (File.Exists(directory))
        {
            throw new Errors.WalNotADirectoryException(directory);
        }

        if (!System.IO.Directory.Exists(directory))
        {
            throw Errors.MissingPath.Error(directory);
        }

        var segments = new List<(long, string)>();
        var temporary = new List<string>();
        var other = new List<string>();
        var metadata = new List<string>();
        var compressed = new List<(long Index, string Path)>();
        string[] files;
        try
        {
            files = System.IO.Directory.GetFiles(directory);
        }
        catch (Exception e) when (Errors.WalFileErrors.IsIo(e))
        {
            throw Errors.WalFileErrors.Reading(directory, e, isDirectory: true);
        }

        foreach (string path in files)
        {
            string name = Path.GetFileName(path);
            if (SegmentFileName.TryParse(name, out long index))
            {
                segments.Add((index, path));
            }
            else if (name.EndsWith(CompressedSegment.Extension, StringComparison.Ordinal)
                && SegmentFileName.TryParse(name[..^CompressedSegment.Extension.Length] + SegmentFileName.Extension, out long packedIndex))
            {
                compressed.Add((packedIndex, path));
            }
            else if (name.EndsWith(CompressedSegment.Extension + SegmentFileName.TemporarySuffix, StringComparison.Ordinal))
            {
                temporary.Add(path);
            }
            else if (name.EndsWith(SegmentFileName.Extension + SegmentFileName.TemporarySuffix, StringComparison.Ordinal)
                && SegmentFileName.TryParse(name[..^SegmentFileName.TemporarySuffix.Length], out _))
            {
                temporary.Add(path);
            }
            else if (MetadataFileNames.Contains(name))
            {
                metadata.Add(path);
            }
            else
            {
                other.Add(path);
            }
        }

        var plain = segments.Select(s => s.Item1).ToHashSet();
        var duplicates = compressed.Where(c => plain.Contains(c.Index)).Select(c => c.Path).Order(StringComparer.Ordinal).ToList();
        segments.AddRange(compressed.Where(c => !plain.Contains(c.Index)));
        segments.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        FillGaps(directory, segments);
        temporary.Sort(StringComparer.Ordinal);
        other.Sort(StringComparer.Ordinal);
        metadata.Sort(StringComparer.Ordinal);
        return new WalDirectoryListing(directory, segments, temporary, other, metadata, duplicates);
    }

    /// <summary>
    /// A directory enumeration can miss a file renamed while it runs: on a live log, a compression
    /// that renames its container into place and deletes the original as the enumeration passes them
    /// both. An index missing between two listed segments is looked up by name (plain, then
    /// compressed) before the listing calls it missing. Only gaps are probed, so a listing with none
    /// costs nothing more.
    /// </summary>
    private static void FillGaps(string directory, List<(long Index, string Path)> segments)
    {
        for (int i = 1; i < segments.Count; i++)
        {
            long previous = segments[i - 1].Index;
            if (segments[i].Index - previous <= 1 || segments[i].Index - previous > MaxProbedGap)
            {
                continue;
            }

            for (long index = segments[i].Index - 1; index > previous; index--)
            {
                if (SegmentLocator.Find(directory, index) is { } found)
                {
                    segments.Insert(i, (index, found));
                }
            }
        }
    }

    /// <summary>Gaps wider than this are not probed file by file (a log with many segments missing is reported as it is).</summary>
    private const int MaxProbedGap = 64;
}
