using System.Globalization;
using FlashWal.Format;

namespace FlashWal.Replication;

/// <summary>
/// Follows a replica stream message by message, as a reader sees it, and checks that it is one
/// shipper's order (FORMAT.md §19.4, checked as §19.6 says): sequences without a gap, segments
/// opened one after the other, blocks where the last ones ended, closes in segment order, and each
/// message's cursor equal to where the messages before it leave the log. A stream that passes holds every part once and in
/// order; one that does not has a hole (a close skipped, a message missing), which a reader must
/// say rather than leave a segment open as if the recorder had. Every message must also be of the
/// log of the stream's first (§19.6). The restore and the remote reader both judge the stream with it.
/// </summary>
internal sealed class ReplicaOrder
{
    private readonly string _stream;
    private ulong _sequence;
    private long _segment = -1;
    private long _nextOffset = SegmentFormat.DataOffset;
    private long _pendingFrom = -1;

    /// <summary>Follows the stream <paramref name="stream"/> (its name, for errors) from its first message.</summary>
    public ReplicaOrder(string stream) => _stream = stream;

    /// <summary>The log of the stream's first message; null before it.</summary>
    public LogId? Log { get; private set; }

    /// <summary>
    /// Takes the next message; returns why it does not follow the ones before it (a sentence, for
    /// an error that names the message), or null when it does.
    /// </summary>
    /// <exception cref="WalStreamException">The message is of another log than the stream's first (<see cref="WalStreamException.ForeignStreamErrorId"/>).</exception>
    public string? Take(ReplicaMessage m, ulong sequence)
    {
        Log ??= m.LogId;
        if (m.LogId != Log)
        {
            throw new WalStreamException(WalStreamException.ForeignStreamErrorId, string.Create(CultureInfo.InvariantCulture,
                $"Message {sequence} of the stream '{_stream}' belongs to log {m.LogId}; the stream started with log {Log}."));
        }

        if (sequence != _sequence + 1)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"the message before it is {_sequence}: messages {_sequence + 1} to {sequence - 1} are missing from what was read");
        }

        _sequence = sequence;
        switch (m.Kind)
        {
            case ReplicaMessageKind.Open:
                if (_segment >= 0 && m.SegmentIndex != _segment + 1)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"it opens segment {m.SegmentIndex} after segment {_segment}");
                }

                _segment = m.SegmentIndex;
                _nextOffset = SegmentFormat.DataOffset;
                if (_pendingFrom < 0)
                {
                    _pendingFrom = m.SegmentIndex;
                }

                break;
            case ReplicaMessageKind.Blocks:
                if (m.SegmentIndex != _segment || m.Offset != _nextOffset)
                {
                    return string.Create(CultureInfo.InvariantCulture,
                        $"its blocks go to segment {m.SegmentIndex} at offset {m.Offset}, but the blocks before them end in segment {_segment} at offset {_nextOffset}");
                }

                _nextOffset = m.Offset + m.Body.Length;
                break;
            case ReplicaMessageKind.Stray:
            case ReplicaMessageKind.Close:
                if (_pendingFrom < 0 || m.SegmentIndex > _segment)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"it belongs to the close of segment {m.SegmentIndex}, which is not open");
                }

                if (m.SegmentIndex < _pendingFrom)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"it belongs to the close of segment {m.SegmentIndex}, which is closed already");
                }

                if (m.SegmentIndex > _pendingFrom)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"it closes segment {m.SegmentIndex} before segment {_pendingFrom}: the close of segment {_pendingFrom} is missing from the stream");
                }

                if (m.Kind == ReplicaMessageKind.Close)
                {
                    _pendingFrom++;
                }

                break;
        }

        if (m.CursorSegment != _segment || m.CursorOffset != _nextOffset || m.PendingFrom != _pendingFrom)
        {
            string missing = m.PendingFrom > _pendingFrom
                ? string.Create(CultureInfo.InvariantCulture, $"the close of segment {_pendingFrom} is missing from the stream")
                : "a part is missing from the stream";
            return string.Create(CultureInfo.InvariantCulture,
                $"it says the log is shipped to segment {m.CursorSegment} offset {m.CursorOffset} with segments from {m.PendingFrom} not yet closed, but the messages up to it leave segment {_segment} offset {_nextOffset} with segments from {_pendingFrom} not yet closed: {missing} (the shipper that stored the message followed another order)");
        }

        return null;
    }
}
