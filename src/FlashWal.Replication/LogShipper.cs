using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Reading;
using FlashWal.Recording;
using NATS.Client.Core;
using NATS.Client.JetStream.Models;

namespace FlashWal.Replication;

/// <summary>
/// Ships a log, live or closed, to a NATS JetStream stream, off the recorder's path: a thread of
/// its own follows the directory with a <see cref="WalTailer"/> in block mode (so it ships only what
/// is committed and verified), copies consecutive sealed blocks into messages as large as the server
/// takes, and publishes them with many in flight; segment headers, summaries and any stray bytes go
/// as messages of their own, so the stream holds every byte of every closed segment.
/// </summary>
/// <remarks>
/// <para><b>Order.</b> Each publish says which message must be the stream's last
/// (<c>Nats-Expected-Last-Msg-Id</c>), so a message whose predecessor was lost is refused, never
/// stored out of order; each carries a <c>Nats-Msg-Id</c> that names the whole message (its part of
/// the log and the cursor it leaves, <see cref="ReplicaMessage.IdOf"/>), so a re-sent message is
/// stored once and a message of another shipper's order never passes for its predecessor.</para>
/// <para><b>Failures.</b> On any failed publish or lost server the shipper drops what is in flight,
/// reads the stream's last message and goes on from the position it records (<see cref="ShipPosition"/>):
/// the same path as a start, so a restarted shipper and a shipper that lost its leader resume alike,
/// from what the stream holds and never from a guess. Meanwhile the recorder records on; the lag
/// grows and is reported. A stream of another log, or a log that does not continue the stream, stops
/// it for good (<see cref="ShipperState.Failed"/>).</para>
/// <para><b>Watermark.</b> Acknowledgements are taken in order; each for blocks raises the
/// <see cref="ReplicationMark"/> to the last event id it carried.</para>
/// </remarks>
public sealed class LogShipper : IReplicaShipper
{
    private readonly string _directory;
    private readonly ReplicaStream _stream;
    private readonly ReplicationOptions _options;
    private readonly LogId _logId;
    private readonly Func<long>? _committed;
    private readonly bool _follow;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<ShipperState> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<InFlight> _window = new();
    private WalTailer? _tailer;
    private bool _needResync;
    private long _tailerEndedAt;
    private long _closesCheckedAt;

    // The cursor: how far the log is shipped once everything published is stored.
    private long _segment = -1;
    private long _nextOffset = SegmentFormat.DataOffset;
    private long _lastId;
    private uint? _chain;
    private long _pendingFrom = -1;
    private long _straysShippedTo;
    private string? _lastMessageId;

    // The blocks message being filled (its body; the header is written when it is published).
    private byte[]? _batch;
    private int _batchLength;
    private long _batchOffset;
    private long _batchFirstId;

    private volatile ShipperState _state;
    private volatile string? _lastError;
    private long _shippedId;
    private long _messages;
    private long _bytes;
    private long _resyncs;
    private int _inFlight;
    private long _windowBytes;
    private int _disposed;

    private LogShipper(string directory, ReplicaStream stream, LogId logId, ReplicationMark mark, Func<long>? committed, bool follow)
    {
        _directory = directory;
        _stream = stream;
        _options = stream.Options;
        _logId = logId;
        Mark = mark;
        _committed = committed;
        _follow = follow;
        _thread = new Thread(Run) { IsBackground = true, Name = "flashwal-shipper" };
    }

    /// <summary>The replicated watermark this shipper raises.</summary>
    public ReplicationMark Mark { get; }

    /// <summary>The stream it ships to.</summary>
    public string Stream => _stream.Name;

    /// <summary>The log's id.</summary>
    public LogId LogId => _logId;

    /// <summary>Completes when the shipper ends: <see cref="ShipperState.Finished"/>, <see cref="ShipperState.Failed"/> or <see cref="ShipperState.Stopped"/>.</summary>
    public Task<ShipperState> Completion => _completion.Task;

    /// <summary>
    /// Connects, binds the log's stream (creating it, or checking its settings), reads its last
    /// message and starts shipping from there on a thread of its own. Without <paramref name="follow"/>,
    /// it finishes once the log has ended (its recorder closed it or went away) and everything is
    /// acknowledged; with it, it waits for a later recorder of the log and goes on.
    /// </summary>
    /// <param name="directory">The log.</param>
    /// <param name="options">The servers and the stream.</param>
    /// <param name="mark">The watermark to raise (a recorder's <see cref="WalRecorder.AttachReplication"/>); null for one of its own.</param>
    /// <param name="committed">The log's committed id, for the lag, when the recorder runs in this process.</param>
    /// <param name="follow">Keep following the directory after the log ends.</param>
    /// <exception cref="WalStreamException">The servers cannot be reached, the stream has other settings or holds another log, or the log does not continue it.</exception>
    /// <exception cref="WalException">The directory is missing or holds no segment (named).</exception>
    public static LogShipper Start(string directory, ReplicationOptions options, ReplicationMark? mark = null, Func<long>? committed = null, bool follow = false)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        directory = Path.GetFullPath(directory);
        LogId logId = ReadLogId(directory);
        ReplicaStream stream = ReplicaStream.OpenAsync(options, logId, create: true, CancellationToken.None).GetAwaiter().GetResult();
        var shipper = new LogShipper(directory, stream, logId, mark ?? new ReplicationMark(), committed, follow);
        try
        {
            shipper.Resync(); // a foreign stream or a log that does not continue it is refused here, before anything is shipped
        }
        catch
        {
            shipper.Dispose();
            throw;
        }

        shipper.Mark.Revive(); // this shipper raises it now: a failure of the one before no longer stands
        shipper._thread.Start();
        ReplicationMeter.Register(shipper);
        return shipper;
    }

    /// <summary>The log's id, from the header of its oldest segment.</summary>
    private static LogId ReadLogId(string directory)
    {
        if (File.Exists(directory))
        {
            throw new WalNotADirectoryException(directory);
        }

        if (!System.IO.Directory.Exists(directory))
        {
            throw new WalPathNotFoundException(directory);
        }

        WalDirectoryListing listing = WalDirectory.List(directory);
        if (listing.Segments.Count == 0)
        {
            throw new WalNoSegmentException(directory);
        }

        return SegmentHeader.Read(SegmentFrame.ReadHeader(directory, listing.Segments[0].Index)).LogId;
    }

    /// <summary>A snapshot of where the shipper stands. Any thread.</summary>
    public ReplicationStatus GetStatus()
    {
        long replicated = Mark.EventId;
        long shipped = Volatile.Read(ref _shippedId);
        long committed = Math.Max(_committed?.Invoke() ?? shipped, shipped);
        return new ReplicationStatus
        {
            Directory = _directory,
            Servers = _options.Servers,
            Stream = _stream.Name,
            State = _state == ShipperState.Shipping && !_stream.IsConnected ? ShipperState.Disconnected : _state, // a lost connection shows before a publish times out
            ReplicatedEventId = replicated,
            ShippedEventId = shipped,
            CommittedEventId = committed,
            LagTime = committed > replicated ? Stopwatch.GetElapsedTime(Mark.AdvancedAt) : TimeSpan.Zero,
            Messages = Interlocked.Read(ref _messages),
            Bytes = Interlocked.Read(ref _bytes),
            InFlight = Volatile.Read(ref _inFlight),
            Resyncs = Interlocked.Read(ref _resyncs),
            LastError = _lastError,
        };
    }

    /// <summary>Waits until the shipper ends (the log ended and everything is acknowledged, or it failed). False on timeout.</summary>
    public bool WaitForEnd(TimeSpan timeout) => _completion.Task.Wait(timeout);

    /// <summary>Stops shipping (what is in flight may or may not be stored: the stream's last message says) and closes the connection.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return; // once: a recorder's stop and its owner may both dispose it
        }

        ReplicationMeter.Unregister(this);
        _stop.Cancel();
        if (_thread.IsAlive)
        {
            _thread.Join(_options.AckTimeout + TimeSpan.FromSeconds(5));
        }

        _tailer?.Dispose();
        _stream.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _completion.TrySetResult(ShipperState.Stopped);
        if (_state != ShipperState.Finished)
        {
            // Whoever waits for an id above the mark would wait for ever: nothing raises it any more.
            Mark.Fail(new WalException(string.Create(CultureInfo.InvariantCulture,
                $"The shipper of '{_directory}' to the stream '{_stream.Name}' was stopped ({_state}); events after {Mark.EventId} may not be replicated."), _directory));
        }
        _stop.Dispose();
    }

    private void Run()
    {
        int failures = 0;
        var idle = new SpinWait();
        _state = ShipperState.Shipping;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (_needResync)
                {
                    _state = ShipperState.Connecting;
                    Resync();
                    _state = ShipperState.Shipping;
                }

                bool progressed = ShipCloses(force: false);
                progressed |= ShipBlocks();
                progressed |= DrainAcks(wait: WindowFull);
                if (_tailer!.State != TailerState.Following && !progressed && LogEnded())
                {
                    return;
                }

                failures = 0;
                if (progressed)
                {
                    idle.Reset();
                }
                else if (idle.NextSpinWillYield)
                {
                    Thread.Sleep(1);
                }
                else
                {
                    idle.SpinOnce(sleep1Threshold: -1);
                }
            }
            catch (Exception e) when (!_stop.IsCancellationRequested && IsTransient(e))
            {
                Lost(e);
                _stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(Math.Min(_options.ConnectTimeout.TotalMilliseconds, 100 << Math.Min(failures++, 5))));
            }
            catch (Exception e) when (!_stop.IsCancellationRequested)
            {
                Fail(e);
                return;
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                break;
            }
        }

        _state = ShipperState.Stopped;
        _completion.TrySetResult(ShipperState.Stopped);
    }

    /// <summary>
    /// The tailer ended: ships the closes there are, waits for every acknowledgement and finishes;
    /// or, following, reopens the tailer now and then for a later recorder of the log.
    /// </summary>
    private bool LogEnded()
    {
        if (ShipCloses(force: true))
        {
            return false;
        }

        if (_follow)
        {
            if (_tailerEndedAt == 0)
            {
                _tailerEndedAt = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(_tailerEndedAt) > TimeSpan.FromSeconds(1))
            {
                _tailer!.Dispose();
                _tailer = WalTailer.Open(_directory, _lastId + 1);
                _tailerEndedAt = 0;
            }

            Thread.Sleep(1);
            return false;
        }

        while (_window.Count > 0)
        {
            DrainAcks(wait: true);
        }

        _state = ShipperState.Finished;
        _completion.TrySetResult(ShipperState.Finished);
        return true;
    }

    /// <summary>Reads the stream's last message and goes on from the position it records.</summary>
    private void Resync()
    {
        (ReplicaMessage Message, ulong Sequence, string MessageId)? last = _stream.LastMessageAsync(_stop.Token).GetAwaiter().GetResult();
        if (last is { } l && l.Message.LogId != _logId)
        {
            throw new WalStreamException(WalStreamException.ForeignStreamErrorId, string.Create(CultureInfo.InvariantCulture,
                $"The stream '{_stream.Name}' at {_options.Servers} holds log {l.Message.LogId}, not log {_logId} of '{_directory}': give each log a stream of its own."), _directory);
        }

        ShipPosition position = ShipPosition.After(last?.Message, last?.MessageId);
        _segment = position.Segment;
        _nextOffset = position.NextOffset;
        _lastId = position.LastEventId;
        _chain = position.Chain;
        _pendingFrom = position.PendingFrom;
        _straysShippedTo = position.StraysShippedTo;
        _lastMessageId = position.LastMessageId;
        Volatile.Write(ref _shippedId, _lastId);
        Mark.Advance(_lastId); // the stream holds it: replicated
        _tailer?.Dispose();
        _tailer = null;
        _tailer = WalTailer.Open(_directory, _lastId + 1);
        _tailerEndedAt = 0;
        _needResync = false;
    }

    /// <summary>
    /// No more publishes until an acknowledgement comes: <see cref="ReplicationOptions.MaxInFlight"/>
    /// messages, or <see cref="ReplicationOptions.MaxInFlightBytes"/> bytes, wait for theirs. The bytes
    /// bound what a quorum must store before the last one is answered, so that at the cluster's pace
    /// it is answered well within the acknowledgement timeout.
    /// </summary>
    private bool WindowFull => _window.Count >= _options.MaxInFlight || _windowBytes >= _options.MaxInFlightBytes;

    /// <summary>Reads the sealed blocks there are now (while the window has room) into messages and publishes them.</summary>
    private bool ShipBlocks()
    {
        bool any = false;
        for (int n = 0; n < 1024 && !WindowFull; n++)
        {
            if (!_tailer!.TryReadNextBlock(out SealedBlock block))
            {
                break;
            }

            any = true;
            if (block.SegmentIndex != _segment)
            {
                PublishBatch();
                OpenThrough(block.SegmentIndex);
            }

            CheckContinues(block);
            int room = _stream.MaxMessageBytes - ReplicaMessage.HeaderSize;
            if (block.Bytes.Length > room)
            {
                throw new WalStreamException(WalStreamException.SettingsDifferErrorId, string.Create(CultureInfo.InvariantCulture,
                    $"A block of {block.Bytes.Length} bytes (segment {block.SegmentIndex} of '{_directory}') does not fit in a message of the servers at {_options.Servers} (at most {room} bytes after the header): raise their max_payload, or record with smaller blocks."), _directory);
            }

            if (_batchLength > 0 && _batchLength + block.Bytes.Length > room)
            {
                PublishBatch();
            }

            if (_batchLength == 0)
            {
                _batch ??= new byte[room]; // one, reused: a message is copied out of it at its size (a quiet log's are small)
                _batchOffset = block.Offset;
                _batchFirstId = block.FirstEventId;
            }

            block.Bytes.CopyTo(_batch.AsSpan(_batchLength));
            _batchLength += block.Bytes.Length;
            _nextOffset = block.Offset + block.Bytes.Length;
            _chain = block.Chain;
            _lastId = block.LastEventId;
        }

        PublishBatch();
        return any;
    }

    /// <summary>A block must start where the stream's copy of its segment ends, and carry the chain the stream ended with.</summary>
    private void CheckContinues(SealedBlock block)
    {
        uint seed = BinaryPrimitives.ReadUInt32LittleEndian(block.Bytes[40..]);
        if (block.Offset != _nextOffset || (_chain is uint chain && seed != chain))
        {
            throw new WalStreamException(WalStreamException.DivergedErrorId, string.Create(CultureInfo.InvariantCulture,
                $"The log in '{_directory}' does not continue the stream '{_stream.Name}': its next block (segment {block.SegmentIndex}, offset {block.Offset}, events {block.FirstEventId}-{block.LastEventId}, chain seed {seed:x8}) should start at offset {_nextOffset} with chain {_chain:x8}. Was the log rewritten, or were its segments deleted before they were shipped?"), _directory);
        }
    }

    /// <summary>Publishes the opens of segments after the last one shipped, through <paramref name="index"/> (segments without blocks between are opened too, to be closed in order).</summary>
    private void OpenThrough(long index)
    {
        long from = _segment >= 0 ? _segment + 1 : WalDirectory.List(_directory).Segments[0].Index;
        if (index < from)
        {
            throw new WalStreamException(WalStreamException.DivergedErrorId, string.Create(CultureInfo.InvariantCulture,
                $"The log in '{_directory}' goes back to segment {index} after the stream '{_stream.Name}' received segment {_segment}."), _directory);
        }

        for (long k = from; k <= index; k++)
        {
            byte[] header;
            try
            {
                header = SegmentFrame.ReadHeader(_directory, k);
            }
            catch (WalPathNotFoundException e)
            {
                throw new WalStreamException(WalStreamException.DivergedErrorId, string.Create(CultureInfo.InvariantCulture,
                    $"Segment {k} of '{_directory}' is gone before it was shipped to the stream '{_stream.Name}' (retention, or a deletion, in a process the shipper cannot hold back): the replica would have a hole, so shipping stops. The stream holds the log up to event {_lastId}."), _directory, e);
            }

            _segment = k;
            _nextOffset = SegmentFormat.DataOffset;
            if (_pendingFrom < 0)
            {
                _pendingFrom = k;
            }

            Publish(ReplicaMessageKind.Open, k, 0, 0, header);
        }
    }

    /// <summary>
    /// Publishes the strays and the close of every segment whose summary is there, in order, from the
    /// first not closed on the stream; the segment being shipped only once all its blocks are shipped.
    /// Looked at every <see cref="ReplicationOptions.CloseCheckInterval"/>, or at once when <paramref name="force"/>.
    /// </summary>
    private bool ShipCloses(bool force)
    {
        if (_pendingFrom < 0 || _pendingFrom > _segment || (!force && Stopwatch.GetElapsedTime(_closesCheckedAt) < _options.CloseCheckInterval))
        {
            return false;
        }

        _closesCheckedAt = Stopwatch.GetTimestamp();
        bool shipped = false;
        while (_pendingFrom <= _segment && !WindowFull)
        {
            SegmentFrame? frame = SegmentFrame.TryReadClosed(_directory, _pendingFrom);
            if (frame is null || (_pendingFrom == _segment && frame.Summary.DataEnd != _nextOffset))
            {
                break; // not closed yet, or its last blocks are still to be shipped
            }

            int room = _stream.MaxMessageBytes - ReplicaMessage.HeaderSize;
            foreach (SegmentBytes stray in frame.Strays)
            {
                for (long at = Math.Max(stray.Offset, _straysShippedTo); at < stray.Offset + stray.Bytes.Length; at += room)
                {
                    int length = (int)Math.Min(room, stray.Offset + stray.Bytes.Length - at);
                    Publish(ReplicaMessageKind.Stray, _pendingFrom, at, 0, stray.Bytes.Span.Slice((int)(at - stray.Offset), length));
                    _straysShippedTo = at + length;
                }
            }

            _pendingFrom++;
            _straysShippedTo = 0;
            Publish(ReplicaMessageKind.Close, _pendingFrom - 1, frame.Length, 0, frame.SummaryBytes.Span);
            shipped = true;
        }

        return shipped;
    }

    private void PublishBatch()
    {
        if (_batchLength == 0)
        {
            return;
        }

        int length = _batchLength;
        _batchLength = 0;
        Publish(ReplicaMessageKind.Blocks, _segment, _batchOffset, _batchFirstId, _batch.AsSpan(0, length));
    }

    /// <summary>Publishes a message whose body is a copy of <paramref name="body"/>.</summary>
    private void Publish(ReplicaMessageKind kind, long segment, long offset, long firstId, ReadOnlySpan<byte> body)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReplicaMessage.HeaderSize + body.Length);
        body.CopyTo(buffer.AsSpan(ReplicaMessage.HeaderSize));
        Send(buffer, kind, segment, offset, firstId, body.Length);
    }

    private void Send(byte[] buffer, ReplicaMessageKind kind, long segment, long offset, long firstId, int bodyLength)
    {
        ReplicaMessage.WriteHeader(buffer, kind, _logId, segment, offset, firstId, _lastId, _chain ?? 0, _segment, _nextOffset, _pendingFrom, bodyLength);
        string id = ReplicaMessage.IdOf(_logId, segment, kind, offset, bodyLength, _segment, _nextOffset, _pendingFrom);
        var timeout = new CancellationTokenSource(_options.AckTimeout);
        int length = ReplicaMessage.HeaderSize + bodyLength;
        Task<PubAckResponse> ack;
        try
        {
            ack = _stream.PublishAsync(buffer.AsMemory(0, length), id, _lastMessageId, timeout.Token);
        }
        catch
        {
            timeout.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        _window.Enqueue(new InFlight(ack, buffer, timeout, kind, _lastId, length));
        _windowBytes += length;
        Volatile.Write(ref _inFlight, _window.Count);
        _lastMessageId = id;
        Volatile.Write(ref _shippedId, _lastId);
    }

    /// <summary>Takes the acknowledgements that are in, in order (waiting for the first when <paramref name="wait"/>).</summary>
    private bool DrainAcks(bool wait)
    {
        bool any = false;
        while (_window.TryPeek(out InFlight? head))
        {
            if (!head.Ack.IsCompleted)
            {
                if (!wait)
                {
                    break;
                }

                ((IAsyncResult)head.Ack).AsyncWaitHandle.WaitOne();
                wait = false;
            }

            _window.Dequeue();
            _windowBytes -= head.Length;
            Volatile.Write(ref _inFlight, _window.Count);
            Settle(head);
            any = true;
        }

        return any;
    }

    private void Settle(InFlight done)
    {
        try
        {
            PubAckResponse ack = done.Ack.GetAwaiter().GetResult();
            if (ack.Error is { } error && !ack.Duplicate)
            {
                throw new ShipmentRefusedException(string.Create(CultureInfo.InvariantCulture,
                    $"the stream '{_stream.Name}' refused a message: {error.Description} (code {error.ErrCode})"));
            }

            if (ack.Duplicate)
            {
                // Stored before, by this shipper before a failure or by one before it (a killed process
                // whose last publishes landed after this one read the stream): where the stream stands
                // is its last message, not this shipper's count. Read it again.
                throw new ShipmentRefusedException($"the stream '{_stream.Name}' held this part already (sequence {ack.Seq})");
            }
        }
        finally
        {
            done.Timeout.Dispose();
            ArrayPool<byte>.Shared.Return(done.Buffer);
        }

        Interlocked.Increment(ref _messages);
        Interlocked.Add(ref _bytes, done.Length);
        if (done.Kind == ReplicaMessageKind.Blocks)
        {
            Mark.Advance(done.LastEventId);
        }
    }

    /// <summary>A publish failed or no server answers: drops what is in flight and reads the stream again before going on.</summary>
    private void Lost(Exception e)
    {
        _lastError = e.Message;
        _state = ShipperState.Disconnected;
        Interlocked.Increment(ref _resyncs);
        _windowBytes = 0;
        while (_window.TryDequeue(out InFlight? dropped))
        {
            try
            {
                dropped.Ack.Wait(_options.AckTimeout); // its buffer may be read until it completes
            }
            catch (AggregateException)
            {
            }

            if (dropped.Ack.IsCompleted)
            {
                dropped.Timeout.Dispose();
                ArrayPool<byte>.Shared.Return(dropped.Buffer);
            }
        }

        Volatile.Write(ref _inFlight, 0);
        _batchLength = 0;
        _needResync = true;
    }

    private void Fail(Exception e)
    {
        _lastError = e.Message;
        _state = ShipperState.Failed;
        Mark.Fail(e);
        _completion.TrySetResult(ShipperState.Failed);
    }

    private static bool IsTransient(Exception e) =>
        e is NatsException or TimeoutException or OperationCanceledException or ShipmentRefusedException or AggregateException
        || (e is WalStreamException stream && stream.ErrorId == WalStreamException.UnreachableErrorId);

    /// <summary>The stream refused a publish (most often: its predecessor was lost, so it would have been out of order). Read the stream again.</summary>
    private sealed class ShipmentRefusedException(string message) : Exception(message);
}
