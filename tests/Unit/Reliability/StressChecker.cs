using System.Globalization;
using FlashWal.Reading;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// What every reader of a stress run checks, event by event: ids contiguous from the reader's start;
/// the type names a producer; per producer, sequences strictly in order and contiguous over the
/// accepted submissions (a rejected one must not appear); every payload byte exact. A checker that
/// starts at event 1 knows every producer's next sequence from the start; one that starts mid-log
/// learns a producer's position from its first payload that names its sequence (shorter payloads of a
/// producer before that cannot be placed and are only counted).
/// </summary>
public sealed class StressChecker
{
    private const int MaxMessages = 20;

    private readonly StressWorkload _work;
    private readonly string _reader;
    private readonly long[] _next;
    private readonly byte[] _expected;
    private long _lastId;

    public StressChecker(StressWorkload work, string reader, bool fromStart, long expectedFirstId = 0)
    {
        _work = work;
        _reader = reader;
        _next = new long[work.Producers];
        Array.Fill(_next, fromStart ? 0 : -1);
        _expected = new byte[work.MaxPayload];
        _lastId = expectedFirstId > 0 ? expectedFirstId - 1 : 0;
    }

    public long Events { get; private set; }

    public long Bytes { get; private set; }

    public long FirstId { get; private set; }

    public long LastId => _lastId;

    /// <summary>Events of a producer whose position was not known yet (mid-log start, short payload).</summary>
    public long Unplaced { get; private set; }

    public int Losses { get; private set; }

    public int Duplicates { get; private set; }

    public int OrderViolations { get; private set; }

    public int PayloadErrors { get; private set; }

    public int Violations => Losses + Duplicates + OrderViolations + PayloadErrors;

    public List<string> Messages { get; } = [];

    /// <summary>Checks one event; returns its producer's sequence (-1 when it cannot be placed or is wrong).</summary>
    public long Check(in WalEvent e)
    {
        if (Events == 0)
        {
            FirstId = e.EventId;
        }

        if (_lastId != 0 && e.EventId != _lastId + 1)
        {
            if (e.EventId <= _lastId)
            {
                Duplicates++;
                Note($"event id {e.EventId} after {_lastId}: an id repeated or out of order");
            }
            else
            {
                Losses++;
                Note($"event id {e.EventId} after {_lastId}: ids {_lastId + 1}..{e.EventId - 1} missing");
            }
        }

        _lastId = Math.Max(_lastId, e.EventId);
        Events++;
        Bytes += e.Payload.Length;
        int producer = e.Type - 1;
        if (producer < 0 || producer >= _work.Producers)
        {
            PayloadErrors++;
            Note($"event {e.EventId}: type {e.Type} names no producer");
            return -1;
        }

        bool decoded = StressPayload.TryDecode(e.Payload, out int named, out long namedSeq);
        if (decoded && named != producer)
        {
            PayloadErrors++;
            Note($"event {e.EventId}: type says producer {producer}, payload says {named}");
            return -1;
        }

        long expected = _next[producer];
        if (expected < 0)
        {
            if (!decoded)
            {
                Unplaced++;
                return -1;
            }

            expected = namedSeq; // synchronise
        }
        else
        {
            expected = _work.NextAccepted(producer, expected);
        }

        if (decoded && namedSeq != expected)
        {
            if (namedSeq > expected)
            {
                Losses++;
                Note($"event {e.EventId}: producer {producer} sequence {namedSeq}, expected {expected}: sequences {expected}..{namedSeq - 1} lost or reordered");
            }
            else
            {
                Duplicates++;
                Note($"event {e.EventId}: producer {producer} sequence {namedSeq}, expected {expected}: a duplicate or a reorder");
            }

            expected = namedSeq;
        }

        if (expected >= _work.Attempts(producer) || _work.IsRejected(producer, expected))
        {
            OrderViolations++;
            Note($"event {e.EventId}: producer {producer} sequence {expected} was never accepted (rejected or not submitted)");
        }

        _next[producer] = expected + 1;
        int length = StressPayload.Length(_work.Seed, producer, expected, _work.MaxPayload);
        Span<byte> image = _expected.AsSpan(0, length);
        StressPayload.Fill(image, _work.Seed, producer, expected);
        if (!e.Payload.SequenceEqual(image))
        {
            PayloadErrors++;
            Note($"event {e.EventId}: producer {producer} sequence {expected}: payload of {e.Payload.Length} bytes differs from the {length} expected{(decoded ? "" : " (too short to name its sequence: a short event lost, duplicated or reordered?)")}");
            return -1;
        }

        return expected;
    }

    /// <summary>After the last event of the log: every producer's accepted submissions were all seen.</summary>
    public void CheckComplete()
    {
        for (int p = 0; p < _next.Length; p++)
        {
            if (_next[p] < 0)
            {
                continue; // never placed (mid-log start)
            }

            long after = _work.NextAccepted(p, _next[p]);
            if (after < _work.Attempts(p))
            {
                Losses++;
                Note($"producer {p}: accepted sequences from {after} (of {_work.Attempts(p)} submitted) never read");
            }
        }
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{_reader}: {Events} events ids {FirstId}..{_lastId}, {Losses} losses, {Duplicates} duplicates, {OrderViolations} order violations, {PayloadErrors} payload errors{(Messages.Count > 0 ? ":\n    " + string.Join("\n    ", Messages) : "")}");

    private void Note(string message)
    {
        if (Messages.Count < MaxMessages)
        {
            Messages.Add(_reader + ": " + message);
        }
    }
}
