namespace FlashWal.Replication;

/// <summary>A snapshot of a <see cref="LogShipper"/>: where it stands, how far the log is replicated, how far behind.</summary>
public sealed record ReplicationStatus
{
    /// <summary>The shipped directory.</summary>
    public required string Directory { get; init; }

    /// <summary>The servers, as given.</summary>
    public required string Servers { get; init; }

    /// <summary>The stream.</summary>
    public required string Stream { get; init; }

    /// <summary>Where the shipper stands.</summary>
    public required ShipperState State { get; init; }

    /// <summary>Every event up to this id is stored by a quorum of the stream's servers.</summary>
    public required long ReplicatedEventId { get; init; }

    /// <summary>The last event id published (acknowledged or not).</summary>
    public required long ShippedEventId { get; init; }

    /// <summary>The log's committed id, when the shipper runs beside its recorder; otherwise the shipped id.</summary>
    public required long CommittedEventId { get; init; }

    /// <summary>Events committed but not yet replicated.</summary>
    public long LagEvents => Math.Max(0, CommittedEventId - ReplicatedEventId);

    /// <summary>How long the replicated watermark has not moved while events wait; zero when caught up.</summary>
    public required TimeSpan LagTime { get; init; }

    /// <summary>Messages acknowledged by the stream since the shipper started.</summary>
    public required long Messages { get; init; }

    /// <summary>Bytes of those messages.</summary>
    public required long Bytes { get; init; }

    /// <summary>Publishes waiting for their acknowledgement now.</summary>
    public required int InFlight { get; init; }

    /// <summary>How often the shipper lost its footing (a failed publish, no server) and read the stream again.</summary>
    public required long Resyncs { get; init; }

    /// <summary>The last error met (a retried one while <see cref="State"/> is not <see cref="ShipperState.Failed"/>); null when none.</summary>
    public string? LastError { get; init; }
}
