using FlashWal.Format;
using FlashWal.Inspection;

namespace FlashWal.Replication;

/// <summary>What a restore from a stream rebuilt, and the verification of the rebuilt log.</summary>
public sealed record RestoreReport
{
    /// <summary>The directory the log was rebuilt in.</summary>
    public required string Directory { get; init; }

    /// <summary>The stream it was read from.</summary>
    public required string Stream { get; init; }

    /// <summary>The log's id.</summary>
    public required LogId LogId { get; init; }

    /// <summary>Messages read.</summary>
    public required long Messages { get; init; }

    /// <summary>Bytes of those messages.</summary>
    public required long Bytes { get; init; }

    /// <summary>Segments written.</summary>
    public required int Segments { get; init; }

    /// <summary>Of those, segments closed (with their summary): the rest were open when the stream was read, as the recorder had them.</summary>
    public required int ClosedSegments { get; init; }

    /// <summary>The last event id in the stream.</summary>
    public required long LastEventId { get; init; }

    /// <summary>How long the restore took, verification included.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>The verifier's report on the rebuilt directory: the same checks as <c>flashwal verify</c>.</summary>
    public required VerificationReport Verification { get; init; }
}
