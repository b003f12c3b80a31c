using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// What <see cref="SegmentScanner"/> learnt about one segment file: its header and summary, its valid
/// prefix of blocks, its state, and every finding. The reader and the verifier both stand on it.
/// </summary>
public sealed class SegmentScan
{
    private readonly List<Finding> _findings = [];
    private readonly List<long> _blockOffsets = [];

    internal SegmentScan(string path, long fileLength)
    {
        Path = path;
        FileLength = fileLength;
        ValidEnd = SegmentFormat.DataOffset;
    }

    /// <summary>Full path of the file.</summary>
    public string Path { get; }

    /// <summary>Length of the file in bytes.</summary>
    public long FileLength { get; }

    /// <summary>The header, when it is valid.</summary>
    public SegmentHeader? Header { get; internal set; }

    /// <summary>The summary, when the segment was closed and the summary is valid.</summary>
    public SegmentSummary? Summary { get; internal set; }

    /// <summary>The segment as a whole.</summary>
    public SegmentState State { get; internal set; }

    /// <summary>File offsets of the blocks of the valid prefix, in order.</summary>
    public IReadOnlyList<long> BlockOffsets => _blockOffsets;

    /// <summary>Offset just past the last valid block of the prefix.</summary>
    public long ValidEnd { get; internal set; }

    /// <summary>Events in the valid prefix.</summary>
    public long RecordCount { get; internal set; }

    /// <summary>First event id of the valid prefix (0 when it holds none).</summary>
    public long FirstEventId { get; internal set; }

    /// <summary>Last event id of the valid prefix (0 when it holds none).</summary>
    public long LastEventId { get; internal set; }

    /// <summary>The chain seed stored in block 0, when there is a valid block 0.</summary>
    public uint? ChainSeed { get; internal set; }

    /// <summary>
    /// The chain value after the valid prefix (what the next segment's block 0 must carry as its seed)
    /// when it can be known: from the last valid block, or from the summary of an empty closed segment.
    /// </summary>
    public uint? FinalChain { get; internal set; }

    /// <summary>
    /// The file is empty or holds only zeros: a segment whose creation never reached the disk before a
    /// crash (creation does not flush; the first flush of the segment does). It holds no event.
    /// </summary>
    public bool NeverWritten { get; internal set; }

    /// <summary>
    /// The header cannot be read because its bytes are zeros (while later bytes are not): the page a
    /// segment's header lives in never reached the disk, though later pages did (a power cut after
    /// writeback wrote some of them, FORMAT.md §9.1).
    /// </summary>
    public bool HeaderNeverWritten { get; internal set; }

    /// <summary>
    /// In a segment that was never closed, the last event id of a valid block found after the failure
    /// that ends the valid prefix (the "blocks lost" case), or null: how far the writes went.
    /// </summary>
    public long? LaterBlockLastEventId { get; internal set; }

    /// <summary>
    /// For a torn tail: the check that failed at the end of the valid prefix (a block header whose
    /// magic is there but whose CRC fails, say), or null when the bytes there simply end (a seal a
    /// crash cut short). Damage if the durable point lies beyond it (FORMAT.md §9.1).
    /// </summary>
    internal Finding? TornFailure { get; set; }

    /// <summary>The log ends torn after this segment's valid prefix (<see cref="TornEnd.DeclareIn"/>): nothing after it is part of the log.</summary>
    internal bool EndsTorn { get; set; }

    /// <summary>Everything found, in file order.</summary>
    public IReadOnlyList<Finding> Findings => _findings;

    /// <summary>Whether any finding is damage or an error.</summary>
    public bool HasDamage => _findings.Exists(f => f.Severity >= FindingSeverity.Damage);

    /// <summary>
    /// A closed segment without a block: what a repair writes after damage it accepted (a fence,
    /// docs/FORMAT.md §16.2); a recorder never writes one. Ids that jump across it are lost.
    /// </summary>
    /// <remarks>
    /// A segment the recorder's open closed without blocks because it lies beyond a torn end
    /// (<see cref="SegmentSummary.IsRecoveredClose"/>: its content is an abandoned tail) is no fence.
    /// </remarks>
    public bool IsFence => State == SegmentState.Closed && Summary is { BlockCount: 0, IsRecoveredClose: false } && !HasDamage;

    /// <summary>The segment index from the header, or from the file name when the header is unreadable, or -1.</summary>
    public long SegmentIndex { get; internal set; } = -1;

    /// <summary>
    /// Verified blocks found after damage, in runs, when the scan was asked to salvage (see
    /// <see cref="SegmentScanner.Salvage"/>); empty otherwise.
    /// </summary>
    public IReadOnlyList<SalvagedRun> SalvagedRuns { get; internal set; } = [];

    /// <summary>
    /// Only the header, the summary and block 0's header were read (<see cref="SegmentScanner.ScanQuick"/>):
    /// the counts and ids come from the summary and the blocks are not verified yet.
    /// </summary>
    public bool IsQuick { get; internal set; }

    /// <summary>Why the file could not be read at all (its <see cref="FindingCode.IoError"/>), for callers that must throw it as what it is.</summary>
    internal Exception? ReadError { get; set; }

    internal void Add(Finding finding) => _findings.Add(finding);

    internal void AddBlock(long offset) => _blockOffsets.Add(offset);

    internal void Add(FindingSeverity severity, FindingCode code, long offset, long block, string message, string? expected = null, string? found = null) =>
        _findings.Add(new Finding(severity, code, Path, offset, block, message, expected, found));

    internal void RemoveFindings(Predicate<Finding> match) => _findings.RemoveAll(match);

    internal void ReplaceFinding(Finding old, Finding replacement)
    {
        int at = _findings.IndexOf(old);
        _findings[at] = replacement;
    }

    /// <summary>A compact description for tables and pipelines.</summary>
    public SegmentInfo ToInfo() => new(
        Path,
        SegmentIndex,
        State,
        RecordCount,
        FirstEventId,
        LastEventId,
        IsQuick && Summary is { } summary ? summary.BlockCount : BlockOffsets.Count, // a quick scan lists no block: its summary counts them
        ValidEnd - SegmentFormat.DataOffset,
        Header?.Capacity ?? 0,
        FileLength,
        Header?.LogId.ToString(),
        Header is { } h ? Format.WalClock.ToDateTimeOffset(h.CreatedUnixNs) : null,
        Summary is { } s ? Format.WalClock.ToDateTimeOffset(s.ClosedUnixNs) : null);
}

/// <summary>One segment as a person sees it in <c>flashwal inspect</c> or <c>Get-WalSegment</c>.</summary>
/// <param name="Path">Full path of the file.</param>
/// <param name="Index">Segment index (-1 when unreadable).</param>
/// <param name="State">Closed, open, torn, empty, damaged or unreadable.</param>
/// <param name="Events">Events in the readable prefix.</param>
/// <param name="FirstEventId">First event id (0 when none).</param>
/// <param name="LastEventId">Last event id (0 when none).</param>
/// <param name="Blocks">Blocks in the readable prefix.</param>
/// <param name="DataBytes">Bytes of blocks in the readable prefix.</param>
/// <param name="Capacity">Segment capacity from the header.</param>
/// <param name="FileLength">Length of the file.</param>
/// <param name="LogId">The log the segment belongs to.</param>
/// <param name="Created">When the file was created.</param>
/// <param name="Closed">When it was closed, if it was.</param>
public sealed record SegmentInfo(
    string Path,
    long Index,
    SegmentState State,
    long Events,
    long FirstEventId,
    long LastEventId,
    int Blocks,
    long DataBytes,
    long Capacity,
    long FileLength,
    string? LogId,
    DateTimeOffset? Created,
    DateTimeOffset? Closed);
