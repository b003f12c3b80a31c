using System.Globalization;
using System.Text;

namespace FlashWal.Format;

/// <summary>How serious a finding is.</summary>
public enum FindingSeverity
{
    /// <summary>Worth knowing, not a problem (a segment left open, an id jump the chain proves was written so).</summary>
    Info = 0,

    /// <summary>The unsealed tail a crash leaves at the end of the log: expected, reported, not damage.</summary>
    TornTail = 1,

    /// <summary>Data is damaged, missing or out of place.</summary>
    Damage = 2,

    /// <summary>A file could not be read at all (permissions, I/O error): the verification is incomplete.</summary>
    Error = 3,
}

/// <summary>What a finding is about. The numbers are stable (scripts and JSON output use the names).</summary>
public enum FindingCode
{
    /// <summary>The file is empty.</summary>
    FileEmpty = 1,

    /// <summary>The file is shorter than a segment header.</summary>
    FileTooShort,

    /// <summary>The first eight bytes are not "FLASHWAL".</summary>
    NotASegment,

    /// <summary>The segment was written by a newer format version.</summary>
    UnsupportedVersion,

    /// <summary>The segment header's CRC does not match.</summary>
    HeaderChecksumMismatch,

    /// <summary>A segment header field is out of range.</summary>
    HeaderInvalid,

    /// <summary>Bytes that must be zero (between header, summary and first block) are not.</summary>
    ReservedBytesNotZero,

    /// <summary>The summary area holds bytes but not a valid summary.</summary>
    SummaryCorrupt,

    /// <summary>The summary disagrees with the blocks.</summary>
    SummaryMismatch,

    /// <summary>The file is shorter than its header's capacity.</summary>
    FileTruncated,

    /// <summary>The file is longer than its header's capacity.</summary>
    FileTooLong,

    /// <summary>A block header's magic or CRC does not match.</summary>
    BlockHeaderCorrupt,

    /// <summary>A block header field is out of range or out of order.</summary>
    BlockHeaderInvalid,

    /// <summary>A block's data CRC does not match.</summary>
    BlockChecksumMismatch,

    /// <summary>A block's chain seed or chain CRC does not continue its predecessor's chain.</summary>
    ChainBroken,

    /// <summary>A record inside a block is malformed.</summary>
    RecordInvalid,

    /// <summary>Event ids do not increase.</summary>
    EventIdOrder,

    /// <summary>Non-zero bytes after the end of a closed segment's data.</summary>
    DataAfterEnd,

    /// <summary>Unsealed bytes after the last sealed block of an open segment (what a crash leaves).</summary>
    TornTail,

    /// <summary>Valid blocks follow damage: the blocks between were lost.</summary>
    BlocksLost,

    /// <summary>A segment index between two present segments is missing.</summary>
    SegmentMissing,

    /// <summary>The segment belongs to another log (its log id differs).</summary>
    ForeignSegment,

    /// <summary>The first block of a segment does not continue the previous segment's chain.</summary>
    ChainBrokenAcrossSegments,

    /// <summary>Event ids jump between blocks or segments although the chain is intact: written so.</summary>
    EventIdJump,

    /// <summary>Event ids jump across a repair's fence: the log held them once and lost them (durable data missing, or damage the repair accepted).</summary>
    FencedLoss,

    /// <summary>The file name's index differs from the header's segment index.</summary>
    SegmentNameMismatch,

    /// <summary>A file in the directory that is not a segment.</summary>
    UnknownFile,

    /// <summary>A segment that was never closed.</summary>
    SegmentNotClosed,

    /// <summary>A segment that holds no events (prepared, never used).</summary>
    SegmentEmpty,

    /// <summary>A segment creation that a crash interrupted (a temporary file).</summary>
    IncompleteCreation,

    /// <summary>The file could not be read.</summary>
    IoError,

    /// <summary>The directory holds no segment.</summary>
    NoSegments,

    /// <summary>The metadata checkpoint is missing.</summary>
    CheckpointMissing,

    /// <summary>The metadata checkpoint is damaged.</summary>
    CheckpointCorrupt,

    /// <summary>The metadata checkpoint belongs to another log.</summary>
    CheckpointMismatch,

    /// <summary>The checkpoint's durable watermark lies beyond the end of the log: durable events were lost.</summary>
    DurableEventsMissing,

    /// <summary>A compressed segment's container is damaged.</summary>
    CompressedSegmentCorrupt,

    /// <summary>A segment exists both plain and compressed (a compression was interrupted).</summary>
    CompressedDuplicate,

    /// <summary>
    /// The checkpoint's committed watermark lies beyond the end of the log, its durable one does not:
    /// events committed but never flushed were lost in a machine crash, as the durability policy allows.
    /// </summary>
    NonDurableEventsLost,
}

/// <summary>
/// One thing a verification found: which file, where, in which block, what was expected and what was
/// found.
/// </summary>
/// <param name="Severity">How serious it is.</param>
/// <param name="Code">What it is about.</param>
/// <param name="File">Full path of the file.</param>
/// <param name="Offset">Byte offset in the file, or -1.</param>
/// <param name="BlockIndex">Index of the block within its segment, or -1.</param>
/// <param name="Message">A sentence for people.</param>
/// <param name="Expected">What a valid file has there, when it can be said.</param>
/// <param name="Found">What the file has there.</param>
public sealed record Finding(
    FindingSeverity Severity,
    FindingCode Code,
    string File,
    long Offset,
    long BlockIndex,
    string Message,
    string? Expected = null,
    string? Found = null)
{
    /// <summary>One line: <c>file:offset: severity code [block n]: message (expected X, found Y)</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder(File);
        if (Offset >= 0)
        {
            text.Append(CultureInfo.InvariantCulture, $":{Offset}");
        }

        text.Append(CultureInfo.InvariantCulture, $": {Severity.ToString().ToLowerInvariant()} {Code}");
        if (BlockIndex >= 0)
        {
            text.Append(CultureInfo.InvariantCulture, $" block {BlockIndex}");
        }

        text.Append(": ").Append(Message);
        if (Expected is not null || Found is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $" (expected {Expected ?? "?"}, found {Found ?? "?"})");
        }

        return text.ToString();
    }
}
