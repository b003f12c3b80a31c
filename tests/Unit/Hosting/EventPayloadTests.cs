using System.Globalization;
using System.Text;
using FlashWal.Errors;
using FlashWal.Hosting;

namespace FlashWal.Tests.Hosting;

public class EventPayloadTests
{
    [Fact]
    public void A_byte_array_is_the_payload_as_it_is()
    {
        byte[] bytes = [0, 1, 2, 0xff];
        Assert.Same(bytes, EventPayload.From(bytes));
    }

    [Theory]
    [InlineData("hello", "68656c6c6f")]
    [InlineData("", "")]
    [InlineData("Zürich", "5a c3bc 72696368")]
    [InlineData("€", "e282ac")]
    public void A_string_is_its_UTF8_bytes_without_a_byte_order_mark(string text, string hex)
    {
        Assert.Equal(Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal)), EventPayload.From(text));
    }

    [Fact]
    public void A_lone_surrogate_has_no_UTF8_form()
    {
        Assert.Throws<ArgumentException>(() => EventPayload.FromText("a\ud800b"));
    }

    public static TheoryData<object, string> Primitives() => new()
    {
        { 42, "42" },
        { -7L, "-7" },
        { (byte)255, "255" },
        { ulong.MaxValue, "18446744073709551615" },
        { 1.5, "1.5" },
        { 0.1, "0.1" },
        { 1e300, "1E+300" },
        { 2.5f, "2.5" },
        { 12.50m, "12.50" },
        { true, "True" },
        { 'x', "x" },
        { DayOfWeek.Monday, "Monday" },
        { TimeSpan.FromMilliseconds(1500), "00:00:01.5000000" },
        { new Guid("6f9619ff-8b86-d011-b42d-00c04fc964ff"), "6f9619ff-8b86-d011-b42d-00c04fc964ff" },
        { new DateTime(2026, 11, 21, 9, 58, 29, DateTimeKind.Utc).AddTicks(1234567), "2026-11-21T09:58:29.1234567Z" },
        { new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.FromHours(1)), "2026-11-21T10:00:00.0000000+01:00" },
    };

    [Theory]
    [MemberData(nameof(Primitives))]
    public void A_primitive_value_is_its_invariant_text_in_UTF8(object value, string text)
    {
        Assert.True(EventPayload.IsSupported(value));
        Assert.Equal(text, Encoding.UTF8.GetString(EventPayload.From(value)));
    }

    [Fact]
    public void Numbers_do_not_depend_on_the_current_culture()
    {
        CultureInfo saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            Assert.Equal("1.5", Encoding.UTF8.GetString(EventPayload.From(1.5)));
            Assert.Equal("1234567", Encoding.UTF8.GetString(EventPayload.From(1234567)));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Floating_point_text_reads_back_to_the_same_value()
    {
        foreach (double value in new[] { 0.1 + 0.2, Math.PI, double.Epsilon, -1.0 / 3 })
        {
            Assert.Equal(value, double.Parse(Encoding.UTF8.GetString(EventPayload.From(value)), CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void Other_objects_are_refused_rather_than_written_as_their_type_name()
    {
        foreach (object value in new object[] { new Dictionary<string, int>(), new object[] { 1, 2 }, new List<byte> { 1 }, new Uri("https://example.org") })
        {
            Assert.False(EventPayload.IsSupported(value));
            var e = Assert.Throws<WalPayloadTypeException>(() => EventPayload.From(value));
            Assert.Equal("WalEventPayloadUnsupported", e.ErrorId);
            Assert.Contains("-AsJson", e.Message, StringComparison.Ordinal);
        }
    }
}
