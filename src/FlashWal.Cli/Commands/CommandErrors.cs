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
            error.WriteLine($"flashwal: {e.Message}");
            return ExitCodes.UsageOrIo;
        }
    }

    public static int Usage(TextWriter error, string message)
    {
        error.WriteLine($"flashwal: {message}");
        return ExitCodes.UsageOrIo;
    }
}
