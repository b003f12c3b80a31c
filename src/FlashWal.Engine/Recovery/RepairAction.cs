using System.Globalization;
using FlashWal.Format;
using FlashWal.Inspection;

namespace FlashWal.Recovery;

/// <summary>What a repair action does. The names are stable (scripts and JSON output use them).</summary>
public enum RepairActionKind
{
    /// <summary>
    /// Deletes a segment after the last one with data that holds nothing: prepared and never used, or
    /// a creation a crash cut short (all zeros). A recorder's open deletes the same files.
    /// </summary>
    RemovePreparedSegment = 1,

    /// <summary>
    /// Closes a segment a stopped recorder left open without unsealed bytes: writes its summary into the
    /// all-zero summary sector, as a recorder's open does. No other byte changes.
    /// </summary>
    CloseSegment,

    /// <summary>
    /// Cuts a killed recorder's torn tail: writes the summary of the segment's sealed blocks, flagged
    /// <c>RecoveredClose</c>, so the unsealed bytes after them (never committed) are declared abandoned.
    /// Every sealed block stays; no byte is deleted or rewritten. A recorder's open does the same.
    /// </summary>
    CutTornTail,

    /// <summary>
    /// Writes a small closed segment without events (a fence) after a damaged or quarantined end of the
    /// log, so that a recorder continues after it, with ids above every id the log is known to have
    /// held, instead of refusing to open. The damage stays where it is and is still reported.
    /// </summary>
    FenceDamagedTail,

    /// <summary>
    /// Moves a file out of the log into <c>quarantine/&lt;UTC time&gt;/</c>, with a README saying why:
    /// a segment of another log, or a file named as a segment whose header cannot be read (nothing in it
    /// can be replayed). Never deleted.
    /// </summary>
    QuarantineSegment,

    /// <summary>
    /// Closes a segment that lies beyond a torn end (written after the log's durable point, behind a
    /// hole a power cut left, FORMAT.md §9.1) as a segment without blocks, flagged <c>RecoveredClose</c>:
    /// its bytes stay in the file, declared abandoned, never replayed; a header page that never reached
    /// the disk gets its header first. A recorder's open does the same.
    /// </summary>
    AbandonSegment,
}

/// <summary>
/// One step of a <see cref="RepairPlan"/>: one side effect on one file, why (the finding it answers),
/// and which of the log's event ids it concerns.
/// </summary>
public sealed class RepairAction
{
    internal RepairAction(RepairActionKind kind, string target, Finding reason, string description, LostRange? lost, IReadOnlyList<RepairAction> requires)
    {
        Kind = kind;
        Target = target;
        Reason = reason;
        Description = description;
        Lost = lost;
        Requires = requires;
    }

    /// <summary>What it does.</summary>
    public RepairActionKind Kind { get; }

    /// <summary>The file it changes, moves, deletes or (for a fence) creates: full path.</summary>
    public string Target { get; }

    /// <summary>The finding it answers: file, offset, block, expected and found.</summary>
    public Finding Reason { get; }

    /// <summary>One sentence: what it does and what it means for the log's events.</summary>
    public string Description { get; }

    /// <summary>
    /// The log's event ids it concerns that are lost (no reader can replay them, in or out of the
    /// log), with the cause; null when it loses none. Repair deletes no event: these were lost to the
    /// damage, and the action is where the repair accepts it.
    /// </summary>
    public LostRange? Lost { get; }

    /// <summary>Whether events of the log are lost where it acts.</summary>
    public bool LosesEvents => Lost is not null;

    /// <summary>Actions it is applied only after; when one of them was not applied, neither is this one.</summary>
    public IReadOnlyList<RepairAction> Requires { get; }

    /// <summary>The segment a quarantine, close, cut or removal reads, from the plan's scan.</summary>
    internal SegmentScan? Scan { get; init; }

    /// <summary>For a fence: its segment index, the log, the chain it carries and the last id before it.</summary>
    internal (long Index, LogId Log, uint Chain, long LastEventId) Fence { get; init; }

    /// <summary>For <see cref="RepairActionKind.AbandonSegment"/>: the log and the chain its intact part ends with.</summary>
    internal (LogId Log, uint Chain) Abandoned { get; init; }

    /// <summary>One line: <c>Kind target: description (why: finding)</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Kind} {Target}: {Description} (why: {Reason})");

    /// <summary>Whether <paramref name="other"/> does the same thing to the same file.</summary>
    internal bool SameAs(RepairAction other) => Kind == other.Kind && Target == other.Target && Lost == other.Lost;
}
