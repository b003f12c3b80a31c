using System.Globalization;

namespace FlashWal.Reading;

/// <summary>
/// Which events a <see cref="Recovery.WalEventReader"/> hands out: those from <see cref="FromEventId"/> up to
/// <see cref="ToEventId"/>, of the <see cref="Types"/> asked for, the <see cref="First"/> so many.
/// </summary>
/// <remarks>
/// The reader stops reading as soon as the filter can take no more: at the first id beyond
/// <see cref="ToEventId"/>, and right after the event that reaches <see cref="ToEventId"/> or makes
/// <see cref="First"/>, so that following a live log never waits for an event it would not hand out.
/// </remarks>
public sealed record EventFilter
{
    /// <summary>Every event of the log.</summary>
    public static EventFilter All { get; } = new();

    /// <summary>The first id wanted: the reading starts there, or at the next id the log holds (0 and 1 both mean the first event).</summary>
    public long FromEventId { get; init; } = 1;

    /// <summary>The last id wanted (inclusive); null: to the end of the log.</summary>
    public long? ToEventId { get; init; }

    /// <summary>How many events to hand out at most (counting only those that pass <see cref="Types"/>); null: all.</summary>
    public long? First { get; init; }

    /// <summary>The type tags wanted; null: every type.</summary>
    public IReadOnlyCollection<ushort>? Types { get; init; }

    /// <summary>Throws when the filter cannot select anything sensible, naming the property at fault.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="FromEventId"/> is negative, <see cref="ToEventId"/> is below 1 or below <see cref="FromEventId"/>, or <see cref="First"/> is below 1.</exception>
    /// <exception cref="ArgumentException"><see cref="Types"/> is empty.</exception>
    public void Validate()
    {
        if (FromEventId < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(FromEventId), FromEventId, "The first event id must not be negative.");
        }

        if (ToEventId is long to && (to < 1 || to < FromEventId))
        {
            throw new ArgumentOutOfRangeException(nameof(ToEventId), to,
                string.Create(CultureInfo.InvariantCulture, $"The last event id ({to}) must be at least 1 and not below the first ({FromEventId})."));
        }

        if (First is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(First), First, "The number of events must be at least 1.");
        }

        if (Types is { Count: 0 })
        {
            throw new ArgumentException("The set of types is empty, so no event could be selected; leave it out to select every type.", nameof(Types));
        }
    }

    /// <summary>Whether an event of type <paramref name="type"/> is wanted.</summary>
    public bool Accepts(ushort type) => Types is null || Types.Contains(type);

    /// <summary>Whether <paramref name="eventId"/> lies beyond <see cref="ToEventId"/>: nothing from there on is wanted.</summary>
    public bool IsBeyond(long eventId) => eventId > ToEventId;

    /// <summary>
    /// Whether nothing is wanted after the event <paramref name="eventId"/>, the
    /// <paramref name="handedOut"/>-th handed out: it reaches <see cref="ToEventId"/> or makes <see cref="First"/>.
    /// </summary>
    public bool IsLast(long eventId, long handedOut) => eventId >= ToEventId || handedOut >= First;
}
