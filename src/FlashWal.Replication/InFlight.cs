using NATS.Client.JetStream.Models;

namespace FlashWal.Replication;

/// <summary>A message published and not yet acknowledged: what its acknowledgement settles.</summary>
/// <param name="Ack">Completes with the stream's acknowledgement, or fails.</param>
/// <param name="Buffer">The rented buffer that holds the message until then.</param>
/// <param name="Timeout">Cancels the wait once the acknowledgement timeout has passed.</param>
/// <param name="Kind">What the message carries.</param>
/// <param name="LastEventId">The last event id shipped once it is stored: the replicated watermark an acknowledgement of blocks raises.</param>
/// <param name="Length">Bytes in the message.</param>
internal sealed record InFlight(Task<PubAckResponse> Ack, byte[] Buffer, CancellationTokenSource Timeout, ReplicaMessageKind Kind, long LastEventId, int Length);
