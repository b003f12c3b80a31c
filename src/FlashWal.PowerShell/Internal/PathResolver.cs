using System.Collections.ObjectModel;
using System.Management.Automation;
using FlashWal.Errors;
using Microsoft.PowerShell.Commands;

namespace FlashWal.PowerShell.Internal;

/// <summary>
/// Turns the <c>-Path</c> (wildcards) and <c>-LiteralPath</c> arguments of a cmdlet into full
/// file-system paths, resolved against PowerShell's current location (not the process's), and
/// reports what cannot be resolved as a non-terminating error for that one item.
/// </summary>
/// <remarks>
/// Whether a literal path exists is left to the engine, which raises
/// <see cref="WalPathNotFoundException"/>; a wildcard that matches nothing has no single path for the
/// engine to judge, so it is reported here with the same error id.
/// </remarks>
internal static class PathResolver
{
    /// <summary>The error id for a path on a drive that is not the file system.</summary>
    public const string NotFileSystemErrorId = "WalPathNotFileSystem";

    /// <summary>
    /// The full file-system paths that <paramref name="paths"/> name. Errors for paths that resolve to
    /// nothing, or to something outside the file system, are written through <paramref name="cmdlet"/>.
    /// </summary>
    /// <param name="cmdlet">The cmdlet that resolves the paths and writes the errors.</param>
    /// <param name="paths">The arguments as given.</param>
    /// <param name="literal">True for <c>-LiteralPath</c>: no wildcard expansion.</param>
    public static IEnumerable<string> Resolve(PSCmdlet cmdlet, IEnumerable<string>? paths, bool literal)
    {
        ArgumentNullException.ThrowIfNull(cmdlet);
        if (paths is null)
        {
            yield break;
        }

        foreach (string path in paths)
        {
            if (string.IsNullOrEmpty(path))
            {
                continue;
            }

            foreach (string resolved in ResolveOne(cmdlet, path, literal))
            {
                yield return resolved;
            }
        }
    }

    /// <summary>Writes <paramref name="exception"/> as a non-terminating error with its stable error id.</summary>
    public static void WriteWalError(PSCmdlet cmdlet, WalException exception, object? target)
    {
        ArgumentNullException.ThrowIfNull(cmdlet);
        ArgumentNullException.ThrowIfNull(exception);
        cmdlet.WriteError(ItemErrors.Wal(exception, target));
    }

    private static List<string> ResolveOne(PSCmdlet cmdlet, string path, bool literal)
    {
        var result = new List<string>();
        if (literal || !WildcardPattern.ContainsWildcardCharacters(path))
        {
            // Unresolved: the path need not exist (the engine says whether it does).
            string providerPath;
            ProviderInfo provider;
            try
            {
                providerPath = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _);
            }
            catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
            {
                WriteWalError(cmdlet, new WalPathNotFoundException(path), path);
                return result;
            }

            if (IsFileSystem(cmdlet, provider, path))
            {
                result.Add(providerPath);
            }

            return result;
        }

        Collection<string> matches;
        ProviderInfo globProvider;
        try
        {
            matches = cmdlet.SessionState.Path.GetResolvedProviderPathFromPSPath(path, out globProvider);
        }
        catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
        {
            WriteWalError(cmdlet, new WalPathNotFoundException(path), path);
            return result;
        }

        if (matches.Count == 0)
        {
            WriteWalError(cmdlet, new WalPathNotFoundException(path), path);
            return result;
        }

        if (IsFileSystem(cmdlet, globProvider, path))
        {
            result.AddRange(matches);
        }

        return result;
    }

    private static bool IsFileSystem(PSCmdlet cmdlet, ProviderInfo provider, string path)
    {
        if (provider.ImplementingType == typeof(FileSystemProvider))
        {
            return true;
        }

        cmdlet.WriteError(new ErrorRecord(
            new ArgumentException($"'{path}' is on the {provider.Name} provider; FlashWal reads files, so give a file-system path."),
            NotFileSystemErrorId,
            ErrorCategory.InvalidArgument,
            path));
        return false;
    }
}
