using System.Globalization;
using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// Judges the metadata checkpoint (<c>wal.meta</c>) against what the segments say. The checkpoint is
/// a hint: the segments are the truth, and the checkpoint only tells when durable data went missing.
/// </summary>
internal static class CheckpointCheck
{
    /// <param name="directory">The WAL directory.</param>
    /// <param name="log">The log the segments belong to (null when there are none).</param>
    /// <param name="lastEventId">The last event the segments hold.</param>
    /// <param name="checkpoint">The checkpoint read, or null.</param>
    /// <param name="problem">Why it could not be read ("missing" or what is wrong).</param>
    /// <param name="consequence">What the caller does instead, for the message ("it was rebuilt from the segments").</param>
    public static IEnumerable<Finding> Check(string directory, LogId? log, long lastEventId, MetaCheckpoint? checkpoint, string? problem, string consequence)
    {
        string path = Path.Combine(directory, MetaCheckpoint.FileName);
        if (checkpoint is not { } meta)
        {
            if (problem == "missing" && log is null)
            {
                yield break; // a new log: nothing to check
            }

            yield return new Finding(FindingSeverity.Info, problem == "missing" ? FindingCode.CheckpointMissing : FindingCode.CheckpointCorrupt, path, -1, -1,
                $"the metadata checkpoint is {(problem == "missing" ? "missing" : "damaged: " + problem)}; {consequence}");
            yield break;
        }

        if (meta.LogId != log)
        {
            yield return new Finding(FindingSeverity.Info, FindingCode.CheckpointMismatch, path, MetaCheckpoint.OffLogId, -1,
                $"the metadata checkpoint belongs to another log; {consequence}", log?.ToString() ?? "no segments", meta.LogId.ToString());
        }
        else if (meta.DurableEventId > lastEventId)
        {
            yield return new Finding(FindingSeverity.Damage, FindingCode.DurableEventsMissing, path, MetaCheckpoint.OffDurableId, -1,
                $"events {lastEventId + 1}..{meta.DurableEventId} were reported durable but the log ends at {lastEventId}: durable data was lost (storage that did not honour a flush, or files removed)",
                meta.DurableEventId.ToString(CultureInfo.InvariantCulture), lastEventId.ToString(CultureInfo.InvariantCulture));
        }
        else if (meta.CommittedEventId > lastEventId)
        {
            yield return new Finding(FindingSeverity.Info, FindingCode.NonDurableEventsLost, path, MetaCheckpoint.OffCommittedId, -1,
                $"events {lastEventId + 1}..{meta.CommittedEventId} were committed but not yet flushed when the recorder stopped, and the log ends at {lastEventId} (a machine crash loses such events; the durability policy allows it); a recorder continues after {meta.CommittedEventId}, so that none of their ids is handed out again",
                meta.CommittedEventId.ToString(CultureInfo.InvariantCulture), lastEventId.ToString(CultureInfo.InvariantCulture));
        }
    }
}
