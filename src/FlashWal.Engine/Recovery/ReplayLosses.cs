using FlashWal.Format;

namespace FlashWal.Recovery;

/// <summary>
/// What a replay met that it could not hand out: every damage finding and the files it was in, and
/// the lost id ranges (gaps). A loss opens at damage and stays open until the next event delivered
/// (or the end of the log) says where it ends, since what damage took is known only from what follows it.
/// </summary>
internal sealed class ReplayLosses
{
    private readonly List<LostRange> _gaps = [];
    private readonly List<Finding> _damage = [];
    private readonly List<string> _damagedSegments = [];
    private Finding? _open;
    private long _openFrom;
    private long? _openTo;

    /// <summary>Whether a loss is open: damage met and no event delivered since.</summary>
    public bool IsOpen => _open is not null;

    /// <summary>Whether the open loss has no known end: nothing met so far said how far it reaches.</summary>
    public bool IsOpenEnded => _open is not null && _openTo is null;

    /// <summary>The last id the open loss is known to reach, if known.</summary>
    public long? OpenTo => _openTo;

    /// <summary>Whether a gap has been closed.</summary>
    public bool AnyGap => _gaps.Count > 0;

    /// <summary>Whether <paramref name="finding"/> was met already.</summary>
    public bool Met(Finding finding) => _damage.Contains(finding);

    /// <summary>Damage met in <paramref name="path"/>, whether or not it loses events.</summary>
    public void Record(Finding cause, string path)
    {
        _damage.Add(cause);
        if (!_damagedSegments.Contains(path))
        {
            _damagedSegments.Add(path);
        }
    }

    /// <summary>
    /// Events from <paramref name="from"/> on are lost to <paramref name="cause"/> (a loss already open
    /// keeps its start and cause), at least up to <paramref name="to"/> when that is known.
    /// </summary>
    public void Open(Finding cause, long from, long? to)
    {
        if (_open is null)
        {
            _open = cause;
            _openFrom = from;
        }

        if (to is long last)
        {
            _openTo = Math.Max(_openTo ?? 0, last);
        }
    }

    /// <summary>
    /// Closes the open loss at <paramref name="to"/> (null: it reaches the end of the log). True when
    /// it took any id, and so became a gap; a loss that closes before it starts took none.
    /// </summary>
    public bool Close(long? to)
    {
        bool gap = to is null || to >= _openFrom;
        if (gap)
        {
            _gaps.Add(new LostRange(_openFrom, to, _open!));
        }

        _open = null;
        _openTo = null;
        return gap;
    }

    /// <summary>The gaps so far, as an array (PowerShell indexes arrays; see <see cref="RecoveryReport"/>).</summary>
    public LostRange[] Gaps() => [.. _gaps];

    /// <summary>Every damage finding met so far, in order.</summary>
    public Finding[] Damage() => [.. _damage];

    /// <summary>The files damage was met in, in order.</summary>
    public string[] DamagedSegments() => [.. _damagedSegments];

    /// <summary>Forgets everything: a new replay starts.</summary>
    public void Clear()
    {
        _gaps.Clear();
        _damage.Clear();
        _damagedSegments.Clear();
        _open = null;
        _openTo = null;
    }
}
