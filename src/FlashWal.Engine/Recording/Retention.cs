using FlashWal.Format;
using FlashWal.Storage;
using FlashWal.Telemetry;

namespace FlashWal.Recording;

/// <summary>
/// Applies a <see cref="RetentionPolicy"/>: deletes the oldest segments while a limit is exceeded,
/// and only segments that are closed and flushed (index at most <c>lastClosedIndex</c>), oldest
/// first, so the log stays contiguous; compresses the closed ones the policy says.
/// </summary>
internal static class Retention
{
    /// <summary>
    /// Applies <paramref name="policy"/> after segment <paramref name="lastClosedIndex"/> was closed.
    /// Only closed segments are counted and deleted, with the one after the last closed (the active
    /// segment, or the next to close) counted as "the active one" the limits include: prepared
    /// segments and rotated ones not yet closed hold nothing durable and are never counted, so a
    /// limit can never leave the directory with only unflushed segments. Before the first deletion
    /// <paramref name="raiseFloor"/> durably records the new lowest index (the checkpoint's
    /// <see cref="MetaCheckpoint.FirstSegmentIndex"/>), so that a reader can tell these deletions from a
    /// lost segment (FORMAT.md §17). With a <paramref name="replicated"/> watermark, a segment holding
    /// an event above it is kept, and every later one: a replica behind finds what it has not acknowledged.
    /// </summary>
    public static void Apply(string directory, RetentionPolicy policy, long lastClosedIndex, RecorderTelemetry telemetry, Disk disk, Action<long> raiseFloor, ReplicationMark? replicated = null)
    {
        if (lastClosedIndex < 0)
        {
            return;
        }

        if (policy.CompressAfter is int keep)
        {
            Compress(directory, lastClosedIndex - keep, telemetry, disk);
        }

        if (!policy.DeletesAnything)
        {
            return;
        }

        var segments = WalDirectory.List(directory).Segments
            .Where(s => s.Index <= lastClosedIndex + 1)
            .Select(s => (s.Index, s.Path, Length: new FileInfo(s.Path).Length)).ToList();
        long bytes = segments.Sum(s => s.Length);
        int count = segments.Count;
        long cutoff = policy.MaxAge is { } age ? Format.WalClock.UnixNs() - age.Ticks * 100 : long.MinValue;
        var doomed = new List<string>();
        long floor = -1;
        foreach ((long index, string path, long length) in segments)
        {
            if (index > lastClosedIndex)
            {
                break;
            }

            bool tooMany = count > policy.MaxSegments;
            bool tooBig = bytes > policy.MaxBytes;
            bool tooOld = policy.MaxAge is not null && SegmentFile.ReadSummary(path)?.ClosedUnixNs is long closed && closed < cutoff;
            if ((!tooMany && !tooBig && !tooOld) || NotReplicated(path, replicated))
            {
                break;
            }

            doomed.Add(path);
            floor = index + 1;
            count--;
            bytes -= length;
        }

        if (doomed.Count == 0)
        {
            return;
        }

        raiseFloor(floor); // durable before any deletion is
        foreach (string path in doomed)
        {
            disk.Delete(path);
            telemetry.CountDelete();
        }

        disk.SyncDirectory(directory);
    }

    /// <summary>Whether the closed segment at <paramref name="path"/> holds an event above the replicated watermark (never, without one).</summary>
    private static bool NotReplicated(string path, ReplicationMark? replicated) =>
        replicated is not null && SegmentFile.ReadSummary(path) is { } summary && summary.LastEventId > replicated.EventId;

    /// <summary>
    /// Compresses every plain segment up to <paramref name="throughIndex"/> (all closed and flushed).
    /// A compression that a crash interrupted (both files present) is finished first. A failure keeps
    /// the original and is counted; the next pass tries again.
    /// </summary>
    private static void Compress(string directory, long throughIndex, RecorderTelemetry telemetry, Disk disk)
    {
        WalDirectoryListing listing = WalDirectory.List(directory);
        foreach (string duplicate in listing.Duplicates)
        {
            string original = SegmentLocator.PlainOf(duplicate);
            if (CompressedSegment.TryDecompress(duplicate, out byte[]? copy, out _) && copy.AsSpan().SequenceEqual(File.ReadAllBytes(original)))
            {
                disk.Delete(original);
            }
            else
            {
                disk.Delete(duplicate); // a bad copy is not data: the original stays the segment
            }

            disk.SyncDirectory(directory);
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
                CompressedSegment.Compress(path, disk);
                telemetry.CountCompression();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Errors.WalException)
            {
                telemetry.CountCompressionFailure();
            }
        }
    }
}
