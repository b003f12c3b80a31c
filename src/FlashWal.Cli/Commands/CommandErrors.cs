using FlashWal.Errors;

namespace FlashWal.Cli.Commands;

/// <summary>Turns the errors a user can cause into one clear line and exit code 2, instead of a stack trace.</summary>
internal static class CommandErrors
{
    public static int Run(TextWriter error, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (WalException e)
        {
            error.WriteLine($"flashwal: {e.Message}");
            return ExitCodes.UsageOrIo;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            error.WriteLine($"flashwal: {(e is ArgumentException argument ? Reason(argument) : OneLine(e.Message))}");
            return ExitCodes.UsageOrIo;
        }
    }

    /// <summary>
    /// What an <see cref="ArgumentException"/> says, without the lines .NET appends to it
    /// (" (Parameter 'X')", "Actual value was Y."), which name the engine's property, not the option.
    /// </summary>
    public static string Reason(ArgumentException e)
    {
        string message = OneLine(e.Message);
        int parameter = e.ParamName is { } name ? message.IndexOf($" (Parameter '{name}')", StringComparison.Ordinal) : -1;
        return parameter >= 0 ? message[..parameter] : message;
    }

    /// <summary>The first line of <paramref name="message"/>: an error is one line.</summary>
    public static string OneLine(string message)
    {
        int end = message.IndexOfAny(['\r', '\n']);
        return end >= 0 ? message[..end].TrimEnd() : message;
    }

    public static int Usage(TextWriter error, string message)
    {
        error.WriteLine($"flashwal: {message}");
        return ExitCodes.UsageOrIo;
    }
}
