using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// Verifies a segment file or a whole WAL directory and returns findings that name the file, the
/// byte offset, the block, what was expected and what was found. Damaged input never makes it throw.
/// </summary>
/// <remarks>
/// Each segment is judged by <see cref="SegmentScanner"/>; this class adds what only the set can
/// tell: one log id, no missing index, each segment's block 0 continuing its predecessor's chain,
/// event ids increasing across segments, and only the last segment allowed a torn tail.
/// </remarks>
public static class SegmentVerifier
{
    /// <summary>Verifies a segment file or a WAL directory.</summary>
    /// <exception cref="WalPathNotFoundException"><paramref name="path"/> does not exist.</exception>
    public static VerificationReport Verify(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return VerifyDirectory(full);
        }

        if (!File.Exists(full))
        {
            throw MissingPath.Error(full);
        }

        SegmentScan scan = SegmentScanner.ScanFile(full);
        return new VerificationReport(full, isDirectory: false, [scan.ToInfo()], scan.Findings);
    }

    /// <summary>Verifies every segment of a WAL directory and the set as a whole.</summary>
    /// <exception cref="WalPathNotFoundException"><paramref name="directory"/> does not exist.</exception>
    public static VerificationReport VerifyDirectory(string directory)
    {
        WalDirectoryListing listing = WalDirectory.List(directory);
        var scans = listing.Segments.Select(s => SegmentScanner.ScanFile(s.Path)).ToList();
        var findings = FileFindings(scans).ToList();
        findings.AddRange(CheckSet(listing, scans));
        return new VerificationReport(listing.Directory, isDirectory: true, scans.ConvertAll(s => s.ToInfo()), findings);
    }

    /// <summary>
    /// Each file's own findings, with one judgement only the set can make: an all-zero file after the
    /// last segment with data is a creation a crash cut short, not damage.
    /// </summary>
    internal static IEnumerable<Finding> FileFindings(IReadOnlyList<SegmentScan> scans)
    {
        int lastWithData = -1;
        for (int i = 0; i < scans.Count; i++)
        {
            if (scans[i].RecordCount > 0 || scans[i].Summary is not null)
            {
                lastWithData = i;
            }
        }

        for (int i = 0; i < scans.Count; i++)
        {
            if (i > lastWithData && scans[i].NeverWritten)
            {
                yield return new Finding(FindingSeverity.Info, FindingCode.SegmentEmpty, scans[i].Path, 0, -1,
                    "a prepared segment whose creation never reached the disk before a crash (all zeros); it holds no event");
                continue;
            }

            foreach (Finding finding in scans[i].Findings)
            {
                yield return finding;
            }
        }
    }

    /// <summary>The checks that need the whole directory. <paramref name="scans"/> are ordered by index.</summary>
    internal static IEnumerable<Finding> CheckSet(WalDirectoryListing listing, IReadOnlyList<SegmentScan> scans)
    {
        foreach (string path in listing.Temporary)
        {
            yield return new Finding(FindingSeverity.Info, FindingCode.IncompleteCreation, path, -1, -1,
                "a segment creation that was interrupted; it never carried a segment name and holds no event");
        }

        foreach (string path in listing.Duplicates)
        {
            yield return new Finding(FindingSeverity.Info, FindingCode.CompressedDuplicate, path, -1, -1,
                "a compressed copy of a segment whose original still exists (a compression was interrupted); the original is verified");
        }

        foreach (string path in listing.Other)
        {
            yield return new Finding(FindingSeverity.Info, FindingCode.UnknownFile, path, -1, -1, "not a FlashWal file; ignored");
        }

        if (scans.Count == 0)
        {
            yield return new Finding(FindingSeverity.Info, FindingCode.NoSegments, listing.Directory, -1, -1, "the directory holds no segment");
            yield break;
        }

        var readable = scans.Where(s => s.Header is not null).ToList();
        LogId? log = readable.GroupBy(s => s.Header!.Value.LogId).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Max(s => s.SegmentIndex)).Select(g => (LogId?)g.Key).FirstOrDefault();
        int lastWithData = -1;
        for (int i = 0; i < scans.Count; i++)
        {
            if (scans[i].RecordCount > 0 && scans[i].Header?.LogId == log)
            {
                lastWithData = i;
            }
        }

        SegmentScan? previous = null; // the last readable segment of this log before the current one
        long lastId = 0; // the highest event id this log held before the current segment
        bool lastIdKnown = true; // false after a damaged segment without a summary: where it ended is unknown
        for (int i = 0; i < scans.Count; i++)
        {
            SegmentScan scan = scans[i];
            if (i > 0 && SegmentLink.CheckIndices(listing.Directory, scans[i - 1].SegmentIndex, scans[i].SegmentIndex) is { } missing)
            {
                yield return missing;
            }

            if (scan.Header is not { } header)
            {
                continue;
            }

            if (header.LogId != log)
            {
                yield return new Finding(FindingSeverity.Damage, FindingCode.ForeignSegment, scan.Path, SegmentHeader.OffLogId, -1,
                    "the segment belongs to another log", log.ToString(), header.LogId.ToString());
                continue;
            }

            if (scan.State == SegmentState.TornTail && i < lastWithData)
            {
                yield return new Finding(FindingSeverity.Damage, FindingCode.TornTail, scan.Path, scan.ValidEnd, scan.BlockOffsets.Count,
                    "unsealed bytes end a segment that later segments follow; only the log's last segment may end torn");
            }
            else if (scan.State is SegmentState.Open or SegmentState.TornTail && i < lastWithData)
            {
                yield return new Finding(FindingSeverity.Info, FindingCode.SegmentNotClosed, scan.Path, SegmentFormat.SummaryOffset, -1,
                    "the segment was never closed; its successor's chain seed shows whether it is complete");
            }
            else if (scan.State == SegmentState.Empty)
            {
                yield return new Finding(FindingSeverity.Info, FindingCode.SegmentEmpty, scan.Path, -1, -1,
                    "the segment holds no event (prepared and never used)");
            }

            if (previous is not null && !previous.HasDamage && SegmentLink.CheckChain(previous, scan) is { } link)
            {
                yield return link;
            }

            // After damage whose extent is unknown, the damage finding already says events are lost there.
            if (previous is { IsFence: true } && lastIdKnown && SegmentLink.CheckFence(previous, lastId, scan) is { } fenced)
            {
                yield return fenced;
            }

            if (scan.RecordCount > 0 || scan.Summary is not null)
            {
                previous = scan;
                lastId = Math.Max(lastId, Math.Max(scan.LastEventId, scan.Summary?.LastEventId ?? 0));
                lastIdKnown = !scan.HasDamage || scan.Summary is not null;
            }
        }
    }

    private static string Hex(long index) => SegmentScanner.Hex(index);

    private static string Hex(uint value) => SegmentScanner.Hex(value);
}
