using FlashWal.Format;
using FlashWal.Storage;
using FlashWal.Telemetry;

namespace FlashWal.Recording;

/// <summary>
/// Applies a <see cref="RetentionPolicy"/>: deletes the oldest segments while a limit is exceeded,
/// and only segments that are closed and flushed (index at most <c>lastClosedIndex</c>), oldest
/// first, so the log stays contiguous.
/// </summary>
internal static class Retention
{
    public static void Apply(string directory, RetentionPolicy policy, long lastClosedIndex, RecorderTelemetry telemetry)
    {
        if (lastClosedIndex < 0)
        {
            return;
        }

        if (policy.CompressAfter is int keep)
        {
            Compress(directory, lastClosedIndex - keep, telemetry);
        }

        if (!policy.DeletesAnything)
        {
            return;
        }

        var segments = WalDirectory.List(directory).Segments.Select(s => (s.Index, s.Path, Length: new FileInfo(s.Path).Length)).ToList();
        long bytes = segments.Sum(s => s.Length);
        int count = segments.Count;
        long cutoff = policy.MaxAge is { } age ? Recording.WalClock.UnixNs() - age.Ticks * 100 : long.MinValue;
        bool deleted = false;
        foreach ((long index, string path, long length) in segments)
        {
            if (index > lastClosedIndex)
            {
                break;
            }

            bool tooMany = count > policy.MaxSegments;
            bool tooBig = bytes > policy.MaxBytes;
            bool tooOld = policy.MaxAge is not null && SegmentFile.ReadSummary(path)?.ClosedUnixNs is long closed && closed < cutoff;
            if (!tooMany && !tooBig && !tooOld)
            {
                break;
            }

            File.Delete(path);
            telemetry.CountDelete();
            deleted = true;
            count--;
            bytes -= length;
        }

        if (deleted)
        {
            DirectorySync.Flush(directory);
        }
    }

    /// <summary>
    /// Compresses every plain segment up to <paramref name="throughIndex"/> (all closed and flushed).
    /// A compression that a crash interrupted (both files present) is finished first. A failure keeps
    /// the original and is counted; the next pass tries again.
    /// </summary>
    private static void Compress(string directory, long throughIndex, RecorderTelemetry telemetry)
    {
        WalDirectoryListing listing = WalDirectory.List(directory);
        foreach (string duplicate in listing.Duplicates)
        {
            string original = Path.Combine(directory, Path.GetFileName(duplicate)[..^CompressedSegment.Extension.Length] + SegmentFileName.Extension);
            if (CompressedSegment.TryDecompress(duplicate, out byte[]? copy, out _) && copy.AsSpan().SequenceEqual(File.ReadAllBytes(original)))
            {
                File.Delete(original);
            }
            else
            {
                File.Delete(duplicate); // a bad copy is not data: the original stays the segment
            }
        }

        foreach ((long index, string path) in listing.Segments)
        {
            if (index > throughIndex)
            {
                break;
            }

            if (!path.EndsWith(SegmentFileName.Extension, StringComparison.Ordinal))
            {
                continue; // compressed already
            }

            try
            {
                CompressedSegment.Compress(path);
                telemetry.CountCompression();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Errors.WalException)
            {
                telemetry.CountCompressionFailure();
            }
        }
    }
}
