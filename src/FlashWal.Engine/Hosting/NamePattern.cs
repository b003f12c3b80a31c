using System.Text;
using System.Text.RegularExpressions;

namespace FlashWal.Hosting;

/// <summary>
/// A recorder name or a wildcard pattern of names, with PowerShell's wildcard rules: <c>*</c> any run
/// of characters, <c>?</c> one character, <c>[abc]</c> one of a set, <c>[a-c]</c> one of a range, and a
/// backtick making the next character literal. Matching ignores case, as recorder names do.
/// </summary>
/// <remarks>
/// The engine cannot use PowerShell's own <c>WildcardPattern</c>, so the rules are written here; a
/// recorder name may not contain a wildcard character (<see cref="ValidateName"/>), so a name given
/// without one always means exactly that recorder.
/// </remarks>
internal sealed class NamePattern
{
    private readonly Regex? _regex;
    private readonly string? _literal;

    private NamePattern(string text, Regex? regex, string? literal)
    {
        Text = text;
        _regex = regex;
        _literal = literal;
    }

    /// <summary>The pattern as given.</summary>
    public string Text { get; }

    /// <summary>Whether it has a wildcard: a name without one that matches nothing is an error, a pattern that matches nothing is not.</summary>
    public bool HasWildcards => _regex is not null;

    /// <summary>Whether <paramref name="text"/> has an unescaped <c>* ? [ ]</c>.</summary>
    public static bool ContainsWildcards(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (int i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '`':
                    i++;
                    break;
                case '*' or '?' or '[' or ']':
                    return true;
            }
        }

        return false;
    }

    /// <summary>Parses <paramref name="pattern"/>.</summary>
    /// <exception cref="ArgumentException">A <c>[</c> without its <c>]</c>, or an empty set.</exception>
    public static NamePattern Parse(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (!ContainsWildcards(pattern))
        {
            return new NamePattern(pattern, null, Unescape(pattern));
        }

        var regex = new StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            switch (c)
            {
                case '`' when i + 1 < pattern.Length:
                    regex.Append(Regex.Escape(pattern[++i].ToString()));
                    break;
                case '*':
                    regex.Append(".*");
                    break;
                case '?':
                    regex.Append('.');
                    break;
                case '[':
                    i = AppendSet(pattern, i, regex);
                    break;
                default:
                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        regex.Append('$');
        return new NamePattern(pattern, new Regex(regex.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline), null);
    }

    /// <summary>Whether <paramref name="name"/> matches (ignoring case).</summary>
    public bool IsMatch(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _regex?.IsMatch(name) ?? string.Equals(name, _literal, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Why <paramref name="name"/> cannot name a recorder, or null when it can.</summary>
    public static string? InvalidNameReason(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "a name must have at least one character that is not white space";
        }

        if (name.Trim().Length != name.Length)
        {
            return "a name may not start or end with white space";
        }

        if (name.IndexOfAny(['*', '?', '[', ']', '`']) >= 0)
        {
            return "a name may not contain the wildcard characters * ? [ ] or the escape character `, so that a name always means exactly one recorder";
        }

        return name.Any(char.IsControl) ? "a name may not contain control characters" : null;
    }

    /// <summary>Throws <see cref="Errors.WalRecorderNameInvalidException"/> when <paramref name="name"/> cannot name a recorder.</summary>
    public static void ValidateName(string? name)
    {
        if (InvalidNameReason(name) is { } reason)
        {
            throw new Errors.WalRecorderNameInvalidException(name ?? string.Empty, reason);
        }
    }

    /// <inheritdoc />
    public override string ToString() => Text;

    private static int AppendSet(string pattern, int open, StringBuilder regex)
    {
        var set = new StringBuilder();
        int i = open + 1;
        for (; i < pattern.Length && pattern[i] != ']'; i++)
        {
            char c = pattern[i];
            if (c == '`' && i + 1 < pattern.Length)
            {
                c = pattern[++i];
            }
            else if (c == '-' && set.Length > 0 && i + 1 < pattern.Length && pattern[i + 1] != ']')
            {
                set.Append('-');
                continue;
            }

            set.Append(c is '\\' or ']' or '[' or '^' or '-' ? "\\" + c : c.ToString());
        }

        if (i >= pattern.Length)
        {
            throw new ArgumentException($"The wildcard pattern '{pattern}' has a '[' without its ']'.", nameof(pattern));
        }

        if (set.Length == 0)
        {
            throw new ArgumentException($"The wildcard pattern '{pattern}' has an empty set '[]'.", nameof(pattern));
        }

        regex.Append('[').Append(set).Append(']');
        return i;
    }

    private static string Unescape(string text)
    {
        if (!text.Contains('`', StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '`' && i + 1 < text.Length)
            {
                i++;
            }

            result.Append(text[i]);
        }

        return result.ToString();
    }
}
