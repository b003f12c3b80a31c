namespace FlashWal.Tests.Reliability;

/// <summary>
/// Who submits what in one stress run: P producers, each with its number of submissions (attempts),
/// and, under a fail-fast queue, which of them were rejected. A producer marks a rejection before it
/// makes its next submission, so a reader that sees a later event of that producer sees the mark.
/// </summary>
public sealed class StressWorkload
{
    private readonly long[] _attempts;
    private readonly long[][] _rejected;
    private readonly long[] _rejectedCount;

    public StressWorkload(int seed, int producers, long events, int maxPayload)
    {
        Seed = seed;
        Producers = producers;
        MaxPayload = maxPayload;
        _attempts = new long[producers];
        _rejected = new long[producers][];
        _rejectedCount = new long[producers];
        for (int p = 0; p < producers; p++)
        {
            _attempts[p] = events / producers + (p < events % producers ? 1 : 0);
            _rejected[p] = new long[(_attempts[p] + 63) / 64];
        }
    }

    public int Seed { get; }

    public int Producers { get; }

    public int MaxPayload { get; }

    public long TotalAttempts => _attempts.Sum();

    public long TotalRejected => _rejectedCount.Sum();

    public long TotalAccepted => TotalAttempts - TotalRejected;

    public long Attempts(int producer) => _attempts[producer];

    public int Length(int producer, long seq) => StressPayload.Length(Seed, producer, seq, MaxPayload);

    /// <summary>The producer's own thread: its submission <paramref name="seq"/> was rejected.</summary>
    public void Reject(int producer, long seq)
    {
        ref long word = ref _rejected[producer][seq >> 6];
        Volatile.Write(ref word, word | (1L << (int)(seq & 63)));
        _rejectedCount[producer]++;
    }

    public bool IsRejected(int producer, long seq) =>
        seq < _attempts[producer] && (Volatile.Read(ref _rejected[producer][seq >> 6]) & (1L << (int)(seq & 63))) != 0;

    /// <summary>The first accepted submission of the producer at or after <paramref name="seq"/> (its attempts when none).</summary>
    public long NextAccepted(int producer, long seq)
    {
        while (seq < _attempts[producer] && IsRejected(producer, seq))
        {
            seq++;
        }

        return seq;
    }
}
