namespace FlashWal.Tests.Durability;

/// <summary>
/// The durable id a lineage of recorders has reported, for a <see cref="SimulatedDisk"/>'s probe: the
/// live recorder's watermark, and what earlier recorders (before a kill, or before the cut a restart
/// follows) had reported. Any thread.
/// </summary>
internal sealed class ReportedDurable(long carried = 0)
{
    private long _carried = carried;
    private Func<long>? _live;

    public long Read() => Math.Max(Volatile.Read(ref _carried), Volatile.Read(ref _live)?.Invoke() ?? 0);

    /// <summary>The recorder now running; its watermark counts from now on.</summary>
    public void Live(Func<long> watermark) => Volatile.Write(ref _live, watermark);

    /// <summary>A recorder stops (killed or closed): what it reported stays reported.</summary>
    public void Carry(long reported)
    {
        long seen;
        while (reported > (seen = Volatile.Read(ref _carried)) && Interlocked.CompareExchange(ref _carried, reported, seen) != seen)
        {
        }
    }
}
