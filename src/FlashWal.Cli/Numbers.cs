using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace FlashWal.Cli;

/// <summary>
/// Parsers for the numeric options, so that a malformed value is refused with a line naming the
/// option, the text given and what it takes, instead of System.CommandLine's message with a .NET type name.
/// </summary>
internal static class Numbers
{
    /// <summary>A whole number (a sign is accepted: the command's range check then names the option).</summary>
    public static T Whole<T>(ArgumentResult result)
        where T : struct, IBinaryInteger<T>, IMinMaxValue<T> =>
        Parse<T>(result, NumberStyles.AllowLeadingSign, string.Create(CultureInfo.InvariantCulture, $"a whole number (at most {T.MaxValue})"));

    /// <summary>A number, with a fraction or an exponent if need be.</summary>
    public static double Real(ArgumentResult result) =>
        Parse<double>(result, NumberStyles.Float, "a number");

    private static T Parse<T>(ArgumentResult result, NumberStyles styles, string what)
        where T : struct, INumberBase<T>
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
        if (T.TryParse(text.Trim(), styles, CultureInfo.InvariantCulture, out T value) && (value is not double d || double.IsFinite(d)))
        {
            return value;
        }

        string option = result.Parent is OptionResult parent ? parent.Option.Name : "the value";
        result.AddError($"{option} '{text}' is not {what}.");
        return default;
    }
}
