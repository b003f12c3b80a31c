using System.Text;
using FlashWal.Format;
using FlashWal.Inspection;

namespace FlashWal.Tests.Inspection;

public class PayloadTextTests
{
    [Fact]
    public void Valid_utf8_is_text_shown_quoted_and_in_full_when_short()
    {
        byte[] payload = Encoding.UTF8.GetBytes("order 42 filled: 12.5 € à Zürich 🚀");
        Assert.True(PayloadText.IsText(payload));
        Assert.Equal("order 42 filled: 12.5 € à Zürich 🚀", PayloadText.ToText(payload));
        Assert.Equal("\"order 42 filled: 12.5 € à Zürich 🚀\"", PayloadText.ToDisplayText(payload, PayloadText.DefaultPrefixBytes));
        Assert.Equal(Convert.ToHexString(payload).ToLowerInvariant(), PayloadText.ToHex(payload));
        Assert.Equal("68656c6c6f", PayloadText.ToHex("hello"u8));
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]                    // never in UTF-8
    [InlineData(new byte[] { 0x61, 0xC3 })]              // a character cut off at the end
    [InlineData(new byte[] { 0xC0, 0xAF })]              // overlong '/'
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]        // a UTF-16 surrogate (U+D800) encoded
    [InlineData(new byte[] { 0x80, 0x61 })]              // a continuation byte first
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })]  // beyond U+10FFFF
    public void Invalid_utf8_is_not_text_but_still_hex(byte[] payload)
    {
        Assert.False(PayloadText.IsText(payload));
        Assert.Null(PayloadText.ToText(payload));
        Assert.Null(PayloadText.ToDisplayText(payload, 64));
        Assert.Equal(Convert.ToHexString(payload).ToLowerInvariant(), PayloadText.ToHex(payload));
    }

    [Fact]
    public void Tab_lf_and_cr_are_text_and_escaped_other_controls_make_a_payload_binary()
    {
        byte[] lines = Encoding.UTF8.GetBytes("a\tb\r\nsaid \"hi\" \\ done");
        Assert.True(PayloadText.IsText(lines));
        Assert.Equal("a\tb\r\nsaid \"hi\" \\ done", PayloadText.ToText(lines));
        Assert.Equal("\"a\\tb\\r\\nsaid \\\"hi\\\" \\\\ done\"", PayloadText.ToDisplayText(lines, 64));

        Assert.False(PayloadText.IsText("a\0b"u8));            // NUL
        Assert.False(PayloadText.IsText("\u001b[31mred"u8));   // ESC: a terminal escape sequence
        Assert.False(PayloadText.IsText("del\u007f"u8));       // DEL
        Assert.False(PayloadText.IsText("c1\u0085"u8));        // a C1 control, valid UTF-8 (C2 85)
        Assert.False(PayloadText.IsText(new byte[] { 1, 2, 3, 4 })); // binary that happens to be valid UTF-8
    }

    [Fact]
    public void Line_separators_and_bidi_controls_are_escaped_so_the_line_shows_what_is_there()
    {
        byte[] payload = Encoding.UTF8.GetBytes("a\u2028b\u202Eevil\u2066c");
        Assert.True(PayloadText.IsText(payload));
        Assert.Equal("\"a\\u2028b\\u202eevil\\u2066c\"", PayloadText.ToDisplayText(payload, 64));
        Assert.Equal("\\u0001x", PayloadText.Escape("\u0001x"));
        Assert.Equal("plain", PayloadText.Escape("plain"));
    }

    [Fact]
    public void The_empty_payload_is_empty_text_and_empty_hex()
    {
        Assert.True(PayloadText.IsText([]));
        Assert.Equal("", PayloadText.ToText([]));
        Assert.Equal("\"\"", PayloadText.ToDisplayText([], 64));
        Assert.Equal("", PayloadText.ToHex([]));
        Assert.Equal("", PayloadText.ToHex([], 64));
    }

    [Fact]
    public void A_long_payload_shows_a_bounded_prefix_and_says_how_many_bytes_it_leaves_out()
    {
        byte[] binary = Enumerable.Range(0, 200).Select(i => (byte)i).ToArray();
        string hex = PayloadText.ToHex(binary, 64);
        Assert.Equal(PayloadText.ToHex(binary.AsSpan(0, 64)) + "...(+136 bytes)", hex);
        Assert.StartsWith("000102", hex, StringComparison.Ordinal);
        Assert.Equal(400, PayloadText.ToHex(binary).Length);          // unbounded: every byte
        Assert.Equal(PayloadText.ToHex(binary), PayloadText.ToHex(binary, 200)); // exactly the bound: no mark

        byte[] big = new byte[100_000];
        Random.Shared.NextBytes(big);
        Assert.Equal(Convert.ToHexString(big).ToLowerInvariant(), PayloadText.ToHex(big)); // the pooled buffer path

        byte[] text = Encoding.UTF8.GetBytes(new string('x', 63) + "é" + new string('y', 10)); // 'é' (2 bytes) straddles byte 64
        Assert.Equal("\"" + new string('x', 63) + "\"...(+12 bytes)", PayloadText.ToDisplayText(text, 64));
        Assert.Equal("\"" + new string('x', 63) + "é\"...(+10 bytes)", PayloadText.ToDisplayText(text, 65));
        Assert.Throws<ArgumentOutOfRangeException>(() => PayloadText.ToHex(binary, -1));
    }

    [Theory]
    [InlineData(0L, "1970-01-01T00:00:00.000000000Z")]
    [InlineData(1_700_000_000_000_000_001L, "2023-11-14T22:13:20.000000001Z")]
    [InlineData(1_700_000_000_123_456_789L, "2023-11-14T22:13:20.123456789Z")]
    [InlineData(-1L, "1969-12-31T23:59:59.999999999Z")]
    [InlineData(long.MaxValue, "2262-04-11T23:47:16.854775807Z")]
    public void Timestamps_print_as_iso_8601_utc_with_every_nanosecond(long unixNs, string expected)
    {
        Assert.Equal(expected, WalClock.ToIso8601(unixNs));
    }
}
