using System.Globalization;
using System.Text;
using FlashWal.Format;

namespace FlashWal.Inspection;

/// <summary>
/// An event on one line for people: <c>id=7 time=2023-11-14T22:13:20.000000007Z type=0 length=5
/// hex=68656c6c6f text="hello"</c>. The one wording of <c>flashwal dump</c> and of the PowerShell
/// module's events as strings.
/// </summary>
/// <remarks>
/// At most <see cref="PayloadText.DefaultPrefixBytes"/> bytes of the payload are shown, as hex and as
/// text, followed by <c>...(+N bytes)</c>; <c>text=</c> only when the payload is text
/// (<see cref="PayloadText"/> decides both); the time is <see cref="WalClock.ToIso8601"/>.
/// </remarks>
public static class EventText
{
    /// <summary>Appends the line for one event (without a line break) to <paramref name="text"/>.</summary>
    public static StringBuilder Append(StringBuilder text, long eventId, long timeUnixNs, ushort type, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(text);
        text.Append(CultureInfo.InvariantCulture, $"id={eventId} time={WalClock.ToIso8601(timeUnixNs)} type={type} length={payload.Length} hex=");
        text.Append(PayloadText.ToHex(payload, PayloadText.DefaultPrefixBytes));
        if (PayloadText.ToDisplayText(payload, PayloadText.DefaultPrefixBytes) is { } shown)
        {
            text.Append(" text=").Append(shown);
        }

        return text;
    }
}
