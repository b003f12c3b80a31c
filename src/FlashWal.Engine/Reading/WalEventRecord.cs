using System.Text;
using FlashWal.Format;
using FlashWal.Inspection;

namespace FlashWal.Reading;

/// <summary>
/// One event copied out of the log, for consumers that keep events or hand them on (the PowerShell
/// module's <c>Get-WalEvent</c> and <c>Invoke-WalRecovery -ScriptBlock</c>): a
/// <see cref="WalEvent"/> is a view of the mapped file, valid only until the next read.
/// </summary>
/// <remarks>
/// <see cref="Text"/> is decided once, when the record is made, by <see cref="PayloadText.ToText"/>:
/// the whole payload decoded when it is text, otherwise null. The record never changes; a caller that
/// writes into <see cref="Payload"/> changes only its own copy of the bytes, not <see cref="Text"/>.
/// </remarks>
public sealed class WalEventRecord
{
    /// <summary>Creates a record that owns <paramref name="payload"/> (it is not copied).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is below 1.</exception>
    public WalEventRecord(long id, long timeUnixNs, ushort type, byte[] payload, string? segment = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(id, 1);
        ArgumentNullException.ThrowIfNull(payload);
        Id = id;
        TimeUnixNs = timeUnixNs;
        Type = type;
        Payload = payload;
        Text = PayloadText.ToText(payload);
        Segment = segment;
    }

    /// <summary>The event id.</summary>
    public long Id { get; }

    /// <summary>When the event was appended (UTC), to the 100 ns a <see cref="DateTimeOffset"/> holds; <see cref="TimeUnixNs"/> is exact.</summary>
    public DateTimeOffset Time => WalClock.ToDateTimeOffset(TimeUnixNs);

    /// <summary>When the event was appended, in nanoseconds since the Unix epoch, as stored.</summary>
    public long TimeUnixNs { get; }

    /// <summary>The application's type tag.</summary>
    public ushort Type { get; }

    /// <summary>Payload length in bytes.</summary>
    public int Length => Payload.Length;

    /// <summary>The payload bytes (a copy of the log's).</summary>
#pragma warning disable CA1819 // PowerShell consumers want the bytes as an array ([byte[]]), not a span or memory they cannot index.
    public byte[] Payload { get; }
#pragma warning restore CA1819

    /// <summary>The payload decoded as UTF-8 when it is text (<see cref="PayloadText.IsText"/>); null otherwise.</summary>
    public string? Text { get; }

    /// <summary>The whole payload as lower-case hex (<see cref="PayloadText.ToHex(ReadOnlySpan{byte})"/>).</summary>
    public string Hex => PayloadText.ToHex(Payload);

    /// <summary>Full path of the segment file the event was read from, when the reader knew it.</summary>
    public string? Segment { get; }

    /// <summary>Copies <paramref name="walEvent"/> out of the log.</summary>
    /// <param name="walEvent">The event, in place.</param>
    /// <param name="segment">The segment file it was read from, when known.</param>
    public static WalEventRecord From(in WalEvent walEvent, string? segment = null) =>
        new(walEvent.EventId, walEvent.TimestampUnixNs, walEvent.Type, walEvent.Payload.ToArray(), segment);

    /// <summary>
    /// The payload in a few characters, for a table: its text quoted and escaped when it is text, else
    /// its hex, at most <see cref="PayloadText.DefaultPrefixBytes"/> bytes of it either way, followed by
    /// <c>...(+N bytes)</c> when more follow (<see cref="PayloadText.ToDisplayText"/>, <see cref="PayloadText.ToHex(ReadOnlySpan{byte}, int)"/>).
    /// </summary>
    public string Preview() =>
        PayloadText.ToDisplayText(Payload, PayloadText.DefaultPrefixBytes) ?? PayloadText.ToHex(Payload, PayloadText.DefaultPrefixBytes);

    /// <summary>The event on one line, as <c>flashwal dump</c> prints it (<see cref="EventText"/>).</summary>
    public override string ToString() => EventText.Append(new StringBuilder(), Id, TimeUnixNs, Type, Payload).ToString();
}
