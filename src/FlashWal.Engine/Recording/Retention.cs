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
        if (!policy.DeletesAnything || lastClosedIndex < 0)
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
}
