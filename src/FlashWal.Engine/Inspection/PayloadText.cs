using System.Buffers;
using System.Globalization;
using System.Text;

namespace FlashWal.Inspection;

/// <summary>
/// How a payload is shown to people: as hexadecimal always, and as text when it is text. The one
/// place that decides it, for <c>flashwal dump</c> and the PowerShell module alike.
/// </summary>
/// <remarks>
/// <para><b>Hex.</b> Two lower-case digits a byte, no separator (<c>68656c6c6f</c>). A bounded form
/// shows the first bytes and says how many it leaves out: <c>00112233...(+136 bytes)</c>.</para>
/// <para><b>Text.</b> A payload is text when the whole of it is valid UTF-8 (no overlong forms, no
/// surrogates, nothing cut off at the end) and holds no control character other than tab, line feed
/// and carriage return. Binary payloads, which may happen to be valid UTF-8, are mostly made of the
/// control bytes below 0x20, so this keeps them out without a guess about proportions. The empty
/// payload is text (the empty string).</para>
/// <para><b>Shown on one line</b> (<see cref="ToDisplayText"/>), text is quoted and escaped as in
/// JSON: <c>\\</c>, <c>\"</c>, <c>\t</c>, <c>\n</c>, <c>\r</c>; and as <c>\uXXXX</c> any other
/// control character, the line and paragraph separators (U+2028, U+2029) and the bidirectional
/// controls (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), which would otherwise
/// break the line or reorder what is shown. A bounded form cuts at a character boundary.</para>
/// </remarks>
public static class PayloadText
{
    /// <summary>How many leading payload bytes a one-line view shows (as hex, and as text): 64.</summary>
    public const int DefaultPrefixBytes = 64;

    private const string Digits = "0123456789abcdef";

    /// <summary>Every byte as two lower-case hex digits; the empty string for an empty payload.</summary>
    public static string ToHex(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return "";
        }

        char[]? rented = null;
        Span<char> chars = payload.Length <= 512 ? stackalloc char[payload.Length * 2] : (rented = ArrayPool<char>.Shared.Rent(payload.Length * 2));
        try
        {
            for (int i = 0; i < payload.Length; i++)
            {
                chars[2 * i] = Digits[payload[i] >> 4];
                chars[(2 * i) + 1] = Digits[payload[i] & 0xF];
            }

            return new string(chars[..(payload.Length * 2)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The first <paramref name="maxBytes"/> bytes as hex, followed by <see cref="Elided"/> when more
    /// bytes follow; the whole payload when it is not longer.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBytes"/> is negative.</exception>
    public static string ToHex(ReadOnlySpan<byte> payload, int maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        return payload.Length <= maxBytes ? ToHex(payload) : ToHex(payload[..maxBytes]) + Elided(payload.Length - maxBytes);
    }

    /// <summary>The mark that follows a bounded view: <c>...(+N bytes)</c>, N the bytes not shown.</summary>
    public static string Elided(int bytes) => string.Create(CultureInfo.InvariantCulture, $"...(+{bytes} bytes)");

    /// <summary>Whether the payload is text: valid UTF-8 throughout, with no control character but tab, LF and CR.</summary>
    public static bool IsText(ReadOnlySpan<byte> payload)
    {
        while (!payload.IsEmpty)
        {
            byte b = payload[0];
            if (b < 0x80)
            {
                if (b < 0x20 ? b is not ((byte)'\t' or (byte)'\n' or (byte)'\r') : b == 0x7F)
                {
                    return false;
                }

                payload = payload[1..];
                continue;
            }

            if (Rune.DecodeFromUtf8(payload, out Rune rune, out int length) != OperationStatus.Done || Rune.IsControl(rune))
            {
                return false; // invalid, cut off, or a C1 control (U+0080 to U+009F)
            }

            payload = payload[length..];
        }

        return true;
    }

    /// <summary>The payload decoded, when it <see cref="IsText">is text</see>; otherwise null.</summary>
    public static string? ToText(ReadOnlySpan<byte> payload) => IsText(payload) ? Encoding.UTF8.GetString(payload) : null;

    /// <summary>
    /// The payload as text for a one-line view, when it <see cref="IsText">is text</see>: quoted and
    /// escaped (see the remarks), at most <paramref name="maxBytes"/> of its bytes (cut at a character
    /// boundary), followed by <see cref="Elided"/> when more follow. Null when it is not text.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBytes"/> is negative.</exception>
    public static string? ToDisplayText(ReadOnlySpan<byte> payload, int maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        if (!IsText(payload))
        {
            return null;
        }

        int shown = payload.Length;
        if (shown > maxBytes)
        {
            shown = maxBytes;
            while (shown > 0 && (payload[shown] & 0xC0) == 0x80)
            {
                shown--; // back to the first byte of the character cut in two
            }
        }

        string quoted = '"' + Escape(Encoding.UTF8.GetString(payload[..shown])) + '"';
        return shown < payload.Length ? quoted + Elided(payload.Length - shown) : quoted;
    }

    /// <summary>
    /// Escapes <paramref name="text"/> for a one-line, quoted view (see the remarks); everything
    /// else is left as it is.
    /// </summary>
    public static string Escape(ReadOnlySpan<char> text)
    {
        StringBuilder? escaped = null;
        int copied = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            string? replacement = c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\t' => "\\t",
                '\n' => "\\n",
                '\r' => "\\r",
                _ when char.IsControl(c) || IsLineBreakOrBidi(c) => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => null,
            };
            if (replacement is null)
            {
                continue;
            }

            escaped ??= new StringBuilder(text.Length + 16);
            escaped.Append(text[copied..i]).Append(replacement);
            copied = i + 1;
        }

        return escaped is null ? text.ToString() : escaped.Append(text[copied..]).ToString();
    }

    private static bool IsLineBreakOrBidi(char c) =>
        c is '\u2028' or '\u2029' or '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');
}
