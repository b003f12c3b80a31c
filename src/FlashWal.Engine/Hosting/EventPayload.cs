using System.Globalization;
using System.Numerics;
using System.Text;
using FlashWal.Errors;

namespace FlashWal.Hosting;

/// <summary>
/// The one place that decides which bytes a value becomes when it is written as an event (by
/// <c>Write-WalEvent</c> and any other front that takes values rather than bytes).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>a <see cref="byte"/> array: its bytes, as they are;</item>
/// <item>a <see cref="string"/> or a <see cref="char"/>: its UTF-8 bytes, without a byte-order mark
/// (the empty string is the empty payload);</item>
/// <item>a number, a <see cref="bool"/>, a <see cref="Guid"/>, a <see cref="TimeSpan"/> or an enum
/// value: its text in the invariant culture, as PowerShell writes it (<c>42</c>, <c>-1.5</c>,
/// <c>True</c>, the enum member's name), UTF-8; floating-point numbers in their shortest form that
/// reads back to the same value;</item>
/// <item>a <see cref="DateTime"/> or <see cref="DateTimeOffset"/>: ISO 8601 with all seven digits of
/// fractions and the offset or kind (<c>"O"</c>), so that it reads back to the same instant;</item>
/// <item>anything else: <see cref="WalPayloadTypeException"/> (a caller serializes it first, for
/// example as JSON), never its type name by accident.</item>
/// </list>
/// Primitive values are text, not their in-memory bytes, so that the same value written from a
/// pipeline, as a string or as a number gives the same event, and tools show it as text.
/// </remarks>
public static class EventPayload
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The payload of <paramref name="value"/> (a byte array is returned as it is, not copied).</summary>
    /// <exception cref="WalPayloadTypeException">The value has no payload form.</exception>
    /// <exception cref="ArgumentException">A string that is not valid UTF-16 (a lone surrogate).</exception>
    public static byte[] From(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value switch
        {
            byte[] bytes => bytes,
            string text => FromText(text),
            _ => Text(value) is { } text ? FromText(text) : throw new WalPayloadTypeException(value.GetType()),
        };
    }

    /// <summary>Whether <paramref name="value"/> has a payload form (see <see cref="From"/>).</summary>
    public static bool IsSupported(object? value) => value is byte[] or string || (value is not null && Text(value) is not null);

    /// <summary>The UTF-8 bytes of <paramref name="text"/>, without a byte-order mark.</summary>
    /// <exception cref="ArgumentException">A lone surrogate, which has no UTF-8 form.</exception>
    public static byte[] FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            return Utf8.GetBytes(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"The text has a lone surrogate at index {e.Index}, which has no UTF-8 form.", nameof(text), e);
        }
    }

    private static string? Text(object value) => value switch
    {
        char c => c.ToString(),
        bool b => b ? "True" : "False",
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.ToString("O", CultureInfo.InvariantCulture),
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        Guid g => g.ToString("D"),
        Enum e => e.ToString(),
        sbyte or byte or short or ushort or int or uint or long or ulong or decimal or BigInteger or Half or Int128 or UInt128 or nint or nuint
            => ((IFormattable)value).ToString(null, CultureInfo.InvariantCulture),
        _ => null,
    };
}
