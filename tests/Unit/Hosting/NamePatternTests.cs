using FlashWal.Errors;
using FlashWal.Hosting;

namespace FlashWal.Tests.Hosting;

public class NamePatternTests
{
    [Theory]
    [InlineData("demo", "demo", true)]
    [InlineData("demo", "DEMO", true)]
    [InlineData("demo", "demo2", false)]
    [InlineData("de*", "demo", true)]
    [InlineData("de*", "de", true)]
    [InlineData("*", "anything", true)]
    [InlineData("*mo", "demo", true)]
    [InlineData("d?mo", "demo", true)]
    [InlineData("d?mo", "dmo", false)]
    [InlineData("orders-[ab]", "orders-a", true)]
    [InlineData("orders-[ab]", "orders-B", true)]
    [InlineData("orders-[ab]", "orders-c", false)]
    [InlineData("feed[1-3]", "feed2", true)]
    [InlineData("feed[1-3]", "feed4", false)]
    [InlineData("feed[-x]", "feed-", true)]
    [InlineData("a.b*", "a.bc", true)]
    [InlineData("a.b*", "axbc", false)]
    [InlineData("price(usd)*", "price(usd)-1", true)]
    [InlineData("`*", "*", true)]
    [InlineData("`*", "x", false)]
    public void Matches_like_PowerShell_wildcards_ignoring_case(string pattern, string name, bool expected)
    {
        Assert.Equal(expected, NamePattern.Parse(pattern).IsMatch(name));
    }

    [Theory]
    [InlineData("demo", false)]
    [InlineData("de*", true)]
    [InlineData("de?", true)]
    [InlineData("[ab]", true)]
    [InlineData("a]", true)]
    [InlineData("a`*", false)]
    [InlineData("a.b-c", false)]
    public void Knows_whether_a_pattern_has_wildcards(string pattern, bool expected)
    {
        Assert.Equal(expected, NamePattern.ContainsWildcards(pattern));
        Assert.Equal(expected, NamePattern.Parse(pattern).HasWildcards);
    }

    [Theory]
    [InlineData("a[bc")]
    [InlineData("a[]")]
    public void A_malformed_set_is_an_argument_error(string pattern)
    {
        Assert.Throws<ArgumentException>(() => NamePattern.Parse(pattern));
    }

    [Theory]
    [InlineData("demo")]
    [InlineData("orders-eu.1")]
    [InlineData("market data")]
    public void Plain_names_are_valid(string name)
    {
        Assert.Null(NamePattern.InvalidNameReason(name));
        NamePattern.ValidateName(name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData(" demo")]
    [InlineData("demo ")]
    [InlineData("de*mo")]
    [InlineData("de?mo")]
    [InlineData("wal[1]")]
    [InlineData("de`mo")]
    [InlineData("de\tmo")]
    public void Names_with_wildcards_white_space_at_the_ends_or_control_characters_are_refused(string name)
    {
        var e = Assert.Throws<WalRecorderNameInvalidException>(() => NamePattern.ValidateName(name));
        Assert.Equal("WalRecorderNameInvalid", e.ErrorId);
    }
}
