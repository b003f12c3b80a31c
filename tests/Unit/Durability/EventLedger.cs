using System.Collections.Concurrent;

namespace FlashWal.Tests.Durability;

/// <summary>
/// Which source (producer, sequence: see <see cref="PowerCutPayload"/>) wrote each event id of one
/// lineage of a log: the events a run appended (the latest append of an id wins: an id is appended
/// again only after a crash lost it uncommitted), over the events the log held when the run started
/// (what the cut before it left, when the run is a restart after a cut).
/// </summary>
internal sealed class EventLedger(IReadOnlyDictionary<long, (int Producer, long Seq)>? inherited = null)
{
    private readonly ConcurrentDictionary<long, (int Producer, long Seq)> _written = new();
    private readonly IReadOnlyDictionary<long, (int Producer, long Seq)> _inherited = inherited ?? new Dictionary<long, (int, long)>();

    public void Wrote(long id, int producer, long seq) => _written[id] = (producer, seq);

    public bool TryGet(long id, out (int Producer, long Seq) source) =>
        _written.TryGetValue(id, out source) || _inherited.TryGetValue(id, out source);

    /// <summary>Every id the lineage is known to hold or to have appended.</summary>
    public IEnumerable<long> Known => _inherited.Keys.Union(_written.Keys);

    /// <summary>Ids this run appended.</summary>
    public int Appended => _written.Count;
}
