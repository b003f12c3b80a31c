using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recovery;

namespace FlashWal.Replication;

/// <summary>
/// Reads a log's events straight from its replica stream, without restoring it to disk: each segment
/// is rebuilt in memory from its messages, each part placed by the restore's rules
/// (<see cref="ReplicaOrder"/>, <see cref="SegmentPlacement"/>), and read by a <see cref="SegmentReader"/>, so it is
/// verified by the scanner's own checks (headers, CRCs, chain, records), and each segment must join
/// the one before by the verifier's rules (<see cref="SegmentContinuity"/>). Strict: the first damage ends
/// the read with a <see cref="WalCorruptionException"/>. Reads what the stream holds when it opens.
/// One thread at a time.
/// </summary>
public sealed class StreamEventReader : IDisposable
{
    private readonly ReplicaStream _stream;
    private readonly IAsyncEnumerator<(ReplicaMessage Message, ulong Sequence)> _messages;
    private readonly EventFilter _filter;
    private readonly SortedDictionary<long, (SegmentPlacement Placement, byte[] Image)> _building = [];
    private readonly ReplicaOrder _order;
    private readonly Queue<(long Index, byte[] Image)> _complete = new();
    private SegmentReader? _reader;
    private SegmentScan? _lastWithData;
    private long _lastIndex = -1;
    private bool _streamEnded;
    private long _handedOut;

    private StreamEventReader(ReplicaStream stream, IAsyncEnumerator<(ReplicaMessage, ulong)> messages, EventFilter filter)
    {
        _stream = stream;
        _messages = messages;
        _filter = filter;
        _order = new ReplicaOrder(stream.Name);
    }

    /// <summary>The stream read.</summary>
    public string Stream => _stream.Name;

    /// <summary>The segment being read, named <c>stream/index.wal</c>; null before the first.</summary>
    public string? Segment => _reader?.Path;

    /// <summary>
    /// Opens the stream <paramref name="options"/> names (or the only FlashWal stream on the servers)
    /// for reading the events <paramref name="filter"/> selects.
    /// </summary>
    /// <exception cref="WalStreamException">The servers cannot be reached, or the stream is missing, empty or not a log's.</exception>
    public static StreamEventReader Open(ReplicationOptions options, EventFilter? filter = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        filter ??= new EventFilter();
        filter.Validate();
        ReplicaStream stream = ReplicaStream.OpenAsync(options, logId: null, create: false, cancellationToken).GetAwaiter().GetResult();
        try
        {
            (long count, ulong last, _) = stream.StateAsync(cancellationToken).GetAwaiter().GetResult();
            if (count == 0)
            {
                throw new WalStreamException(WalStreamException.NotFoundErrorId, $"The stream '{stream.Name}' at {options.Servers} holds nothing to read.");
            }

            return new StreamEventReader(stream, stream.ReadAsync(last, cancellationToken).GetAsyncEnumerator(cancellationToken), filter);
        }
        catch
        {
            stream.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>The next event the filter selects; false at the end of the stream (or of the filter). The payload is valid until the next call.</summary>
    /// <exception cref="WalCorruptionException">A segment rebuilt from the stream is damaged, or does not join the one before.</exception>
    /// <exception cref="WalStreamException">The stream holds messages that are not a log's, or of two logs.</exception>
    /// <exception cref="WalReplicaException">A message does not follow the ones before it, or its part does not fit where it goes (as the restore would refuse it).</exception>
    public bool TryReadNext(out WalEvent next)
    {
        while (_filter.First is not long first || _handedOut < first)
        {
            if (_reader is not null && _reader.TryReadNext(out next))
            {
                if (_filter.IsBeyond(next.EventId))
                {
                    break;
                }

                if (next.EventId < _filter.FromEventId || !_filter.Accepts(next.Type))
                {
                    continue;
                }

                _handedOut++;
                return true;
            }

            if (_reader?.Scan.Findings.FirstOrDefault(f => f.Severity >= FindingSeverity.Damage) is { } damage)
            {
                throw new WalCorruptionException(damage); // strict: the events before it were handed out, none after
            }

            if (!NextSegment())
            {
                break;
            }
        }

        next = default;
        return false;
    }

    /// <summary>Makes the next rebuilt segment current, joined to the one before; false when the stream has no more.</summary>
    private bool NextSegment()
    {
        _reader?.Dispose();
        _reader = null;
        while (_complete.Count == 0)
        {
            if (_streamEnded || !Pull())
            {
                _streamEnded = true;
                foreach ((long index, (_, byte[] image)) in _building)
                {
                    _complete.Enqueue((index, image)); // open when the stream was read, as the recorder had it
                }

                _building.Clear();
                if (_complete.Count == 0)
                {
                    return false;
                }
            }
        }

        (long segment, byte[] bytes) = _complete.Dequeue();
        _reader = SegmentReader.FromImage(bytes, SegmentName(segment));
        Finding? join = (_lastIndex >= 0 ? SegmentContinuity.Missing(_stream.Name, _lastIndex, segment) : null)
            ?? (_lastWithData is { } previous ? SegmentContinuity.Chain(previous, _reader.Scan) : null);
        if (join is { Severity: >= FindingSeverity.Damage })
        {
            throw new WalCorruptionException(join);
        }

        _lastIndex = segment;
        if (_reader.Scan.RecordCount > 0)
        {
            _lastWithData = _reader.Scan;
        }

        return true;
    }

    /// <summary>Applies the next message; false at the end of the stream.</summary>
    private bool Pull()
    {
        if (!_messages.MoveNextAsync().AsTask().GetAwaiter().GetResult())
        {
            return false;
        }

        (ReplicaMessage m, ulong sequence) = _messages.Current;
        if (_order.Take(m, sequence) is { } hole) // or WalStreamForeign: a message of another log
        {
            throw Misplaced(sequence, m, hole);
        }

        if (m.Kind == ReplicaMessageKind.Open)
        {
            var placement = SegmentPlacement.Begin(m.Body.Span, m.LogId, m.SegmentIndex, _stream.Name, SegmentName(m.SegmentIndex));
            if (placement.Header.Capacity > int.MaxValue)
            {
                throw Misplaced(sequence, m, $"a capacity of {placement.Header.Capacity} bytes, which this reader cannot hold in memory");
            }

            byte[] image = new byte[placement.Header.Capacity];
            m.Body.Span.CopyTo(image);
            _building[m.SegmentIndex] = (placement, image);
            return true;
        }

        if (!_building.TryGetValue(m.SegmentIndex, out (SegmentPlacement Placement, byte[] Image) segment))
        {
            throw Misplaced(sequence, m, "no open segment of that index before it");
        }

        // The placement refuses what the restore refuses; past it, every part lies inside the image
        // (blocks and strays within the capacity until the close, the summary at 512).
        switch (m.Kind)
        {
            case ReplicaMessageKind.Blocks:
                segment.Placement.Blocks(m.Offset, m.Body.Span);
                m.Body.Span.CopyTo(segment.Image.AsSpan((int)m.Offset));
                break;
            case ReplicaMessageKind.Stray:
                segment.Placement.Stray(m.Offset, m.Body.Length);
                m.Body.Span.CopyTo(segment.Image.AsSpan((int)m.Offset));
                break;
            default:
                segment.Placement.Close(m.Body.Span, m.Offset);
                m.Body.Span.CopyTo(segment.Image.AsSpan(SegmentFormat.SummaryOffset));
                _building.Remove(m.SegmentIndex);
                _complete.Enqueue((m.SegmentIndex, m.Offset == segment.Image.Length ? segment.Image : Resized(segment.Image, m.Offset)));
                break;
        }

        return true;
    }

    private string SegmentName(long index) => string.Create(CultureInfo.InvariantCulture, $"{_stream.Name}/{index:x16}.wal");

    private static byte[] Resized(byte[] segment, long length)
    {
        Array.Resize(ref segment, (int)Math.Min(length, int.MaxValue));
        return segment;
    }

    private WalReplicaException Misplaced(ulong sequence, ReplicaMessage m, string what) =>
        new(WalReplicaException.OutOfOrderErrorId, string.Create(CultureInfo.InvariantCulture,
            $"Message {sequence} of the stream '{_stream.Name}' ({m.Kind} of segment {m.SegmentIndex}) cannot be placed: {what}."));

    /// <summary>Stops reading and closes the connection.</summary>
    public void Dispose()
    {
        _reader?.Dispose();
        _messages.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stream.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
