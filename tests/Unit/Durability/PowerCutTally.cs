using System.Globalization;
using System.Text;

namespace FlashWal.Tests.Durability;

/// <summary>
/// What a power-cut fuzz run did and found: counts by model and level, and every failure, grouped into
/// classes (model, level, check and finding code) each with one command that replays a case of it.
/// Thread-safe (a case that overran its time may still be finishing on its own thread).
/// </summary>
internal sealed class PowerCutTally(int seed)
{
    private readonly object _gate = new();
    private readonly SortedDictionary<string, FailureClass> _classes = new(StringComparer.Ordinal);
    private readonly List<string> _failures = [];
    private readonly SortedDictionary<string, int> _cutsBy = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _failedBy = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>One class of failure: how often, and the first case that showed it.</summary>
    public sealed record FailureClass(string Key, string Replay, string Example, bool WriteSide)
    {
        public int Count { get; set; }
    }

    public int Seed { get; } = seed;

    public int Cases { get; private set; }

    public int Cuts { get; private set; }

    public int FailedCuts { get; private set; }

    public long EventsChecked { get; private set; }

    public long DurableEventsChecked { get; private set; }

    public TimeSpan Elapsed { get; set; }

    public IReadOnlyList<FailureClass> Classes
    {
        get
        {
            lock (_gate)
            {
                return [.. _classes.Values];
            }
        }
    }

    public int Failures
    {
        get
        {
            lock (_gate)
            {
                return _failures.Count;
            }
        }
    }

    public void CaseDone()
    {
        lock (_gate)
        {
            Cases++;
        }
    }

    /// <summary>Adds to a named count (kills, failed syncs, operations, …).</summary>
    public void Count(string what, long by = 1)
    {
        lock (_gate)
        {
            _counts[what] = (int)Math.Min(int.MaxValue, _counts.GetValueOrDefault(what) + by);
        }
    }

    /// <summary>A cut was checked at <paramref name="level"/> (1: the first run's, 2: after the restart).</summary>
    public void Cut(PowerCut cut, int level, CutVerdict verdict, string replay, string what)
    {
        string by = $"{cut.Model} level {level}";
        lock (_gate)
        {
            Cuts++;
            _cutsBy[by] = _cutsBy.GetValueOrDefault(by) + 1;
            EventsChecked += verdict.Events.Count;
            DurableEventsChecked += verdict.DurableChecked;
            if (verdict.TornTail)
            {
                _counts["cuts with a torn tail"] = _counts.GetValueOrDefault("cuts with a torn tail") + 1;
            }

            if (verdict.Passed)
            {
                return;
            }

            FailedCuts++;
            _failedBy[by] = _failedBy.GetValueOrDefault(by) + 1;
            foreach (CutProblem problem in verdict.Problems.DistinctBy(p => p.Class))
            {
                Add($"{cut.Model} L{level} {problem.Class}", replay, $"{what}: {problem.Detail}", problem.Loss || problem.Reuse);
            }

            _failures.Add($"{what}: {string.Join(" | ", verdict.Problems)}\n    replay: {replay}");
        }
    }

    /// <summary>A failure outside a cut's checks: the run itself (a hang, a reopen after a kill), or the model.</summary>
    public void Failure(string key, string replay, string what, bool writeSide = false)
    {
        lock (_gate)
        {
            Add(key, replay, what, writeSide);
            _failures.Add($"{what}\n    replay: {replay}");
        }
    }

    private void Add(string key, string replay, string example, bool writeSide)
    {
        if (!_classes.TryGetValue(key, out FailureClass? found))
        {
            _classes[key] = found = new FailureClass(key, replay, example, writeSide);
        }

        found.Count++;
    }

    public override string ToString()
    {
        lock (_gate)
        {
            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"seed {Seed}: {Cases} cases, {Cuts} cuts ({FailedCuts} failed), elapsed {Elapsed.TotalSeconds:F1} s, {Environment.ProcessorCount} cores");
            text.AppendLine(CultureInfo.InvariantCulture, $"cuts by model and level: {string.Join(", ", _cutsBy.Select(p => $"{p.Key} {p.Value} ({_failedBy.GetValueOrDefault(p.Key)} failed)"))}");
            text.AppendLine(CultureInfo.InvariantCulture, $"events checked after cuts (strict replay, exact payloads): {EventsChecked}; of them at or below the reported durable id: {DurableEventsChecked}");
            text.AppendLine(CultureInfo.InvariantCulture, $"{string.Join(", ", _counts.Select(p => $"{p.Key} {p.Value}"))}");
            return text.ToString();
        }
    }

    /// <summary>The failure classes, write-side suspects first, each with its count, one replay command and one example; then the first failures in full.</summary>
    public string Report(int failures = 40)
    {
        lock (_gate)
        {
            var text = new StringBuilder();
            List<FailureClass> suspects = [.. _classes.Values.Where(c => c.WriteSide)];
            if (suspects.Count > 0)
            {
                text.AppendLine("WRITE-SIDE SUSPECTS (an id reported durable absent or wrong even to salvage, or handed out again):");
                Append(text, suspects);
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"{_classes.Count} failure classes ({_failures.Count} failures in {FailedCuts} of {Cuts} cuts):");
            Append(text, _classes.Values.Where(c => !c.WriteSide));
            text.AppendLine(CultureInfo.InvariantCulture, $"the first {Math.Min(failures, _failures.Count)} failures:");
            foreach (string failure in _failures.Take(failures))
            {
                text.AppendLine(failure);
            }

            return text.ToString();
        }
    }

    private static void Append(StringBuilder text, IEnumerable<FailureClass> classes)
    {
        foreach (FailureClass c in classes.OrderByDescending(c => c.Count))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {c.Count,5} x {c.Key}");
            text.AppendLine(CultureInfo.InvariantCulture, $"          replay: {c.Replay}");
            text.AppendLine(CultureInfo.InvariantCulture, $"          e.g. {c.Example}");
        }
    }
}
