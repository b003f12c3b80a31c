namespace FlashWal.Recovery;

/// <summary>Where a replay stands, as <see cref="WalRecovery.Run"/> tells it at the start and then now and then.</summary>
/// <param name="EventId">The last id replayed (0 before the first).</param>
/// <param name="EventsReplayed">Events replayed so far.</param>
/// <param name="FirstEventId">The first id the replay can reach: the start id, or the log's first id when that is later.</param>
/// <param name="LastEventId">The log's last id, as the catalog read it when the recovery opened.</param>
/// <param name="Elapsed">Time since the replay started.</param>
public readonly record struct RecoveryProgress(long EventId, long EventsReplayed, long FirstEventId, long LastEventId, TimeSpan Elapsed)
{
    /// <summary>How far through the ids from <see cref="FirstEventId"/> to <see cref="LastEventId"/> the replay is, from 0 to 1.</summary>
    public double Fraction => EventId < FirstEventId ? 0 : Math.Clamp((EventId - FirstEventId + 1) / (double)Math.Max(LastEventId - FirstEventId + 1, 1), 0, 1);

    /// <summary><see cref="Fraction"/> in whole percent, from 0 to 100.</summary>
    public int Percent => (int)(Fraction * 100);

    /// <summary>
    /// The time left if the rest goes at the pace so far (<see cref="Elapsed"/> over
    /// <see cref="Fraction"/>); null before the first event.
    /// </summary>
    public TimeSpan? Remaining => EventsReplayed > 0 && Fraction > 0 ? Elapsed * ((1 - Fraction) / Fraction) : null;
}
