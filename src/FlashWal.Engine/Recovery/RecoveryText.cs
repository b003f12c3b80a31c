using System.Globalization;
using FlashWal.Format;

namespace FlashWal.Recovery;

/// <summary>
/// How the tools that replay a log (<c>flashwal recover</c> and <c>dump</c>, the PowerShell module's
/// <c>Invoke-WalRecovery</c> and <c>Get-WalEvent</c>) word what the replay met: the start note, each
/// gap and damage, the tail and the verdict. One wording, so that a script that greps one tool's
/// output understands the other's.
/// </summary>
public static class RecoveryText
{
    /// <summary><c>start: …</c>, when the replay did not start at the id asked for.</summary>
    public static string Start(string note)
    {
        ArgumentNullException.ThrowIfNull(note);
        return "start: " + note;
    }

    /// <summary><c>gap: events A..B (n) lost: &lt;finding&gt;</c>.</summary>
    public static string Gap(LostRange gap)
    {
        ArgumentNullException.ThrowIfNull(gap);
        return "gap: " + gap;
    }

    /// <summary><c>damage: file:offset: severity code block n: message (expected X, found Y)</c>.</summary>
    public static string Damage(Finding damage)
    {
        ArgumentNullException.ThrowIfNull(damage);
        return "damage: " + damage;
    }

    /// <summary><c>STOPPED at damage (strict): &lt;finding&gt;</c>: where a strict replay (or a follow) stopped.</summary>
    public static string Stopped(Finding failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return $"STOPPED at damage (strict): {failure}";
    }

    /// <summary>The start note, every gap and every damage, in that order.</summary>
    public static IEnumerable<string> Findings(RecoveryReport report)
    {
        if (report.StartNote is { } note)
        {
            yield return Start(note);
        }

        foreach (LostRange gap in report.Gaps)
        {
            yield return Gap(gap);
        }

        foreach (Finding damage in report.Damage)
        {
            yield return Damage(damage);
        }
    }

    /// <summary>How the last segment reached ends, in words.</summary>
    public static string Tail(RecoveryReport report) => (report ?? throw new ArgumentNullException(nameof(report))).Tail switch
    {
        LogEnd.Closed => "closed cleanly",
        LogEnd.Open => "open (not closed; nothing unsealed after the last block)",
        LogEnd.TornTail => "torn: unsealed bytes after the last sealed block (a killed recorder's uncommitted writes, or one still writing)",
        _ => "not reached",
    };

    /// <summary>
    /// How following a live log ended (<c>dump --follow</c>, <c>Get-WalEvent -Wait</c>): the recorder
    /// closed it, or went away without closing it; null while it is still followed, or when no log was followed.
    /// </summary>
    public static string? FollowEnded(Reading.TailerState? state) => state switch
    {
        Reading.TailerState.Closed => "the recorder closed the log",
        Reading.TailerState.WriterGone => "the recorder went away without closing the log (its process ended); every committed event was read",
        _ => null,
    };

    /// <summary>
    /// <c>STOPPED at damage (strict): …</c>, <c>DAMAGED (salvaged): …</c>, <c>complete</c>, or, for a
    /// replay that did not reach the end of the log, <c>stopped before the end</c> or <c>in progress</c>.
    /// </summary>
    public static string Verdict(RecoveryReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Outcome == RecoveryOutcome.StoppedAtDamage)
        {
            return Stopped(report.Failure!);
        }

        if (report.Gaps.Count > 0 || report.Damage.Count > 0)
        {
            long lost = report.Gaps.Sum(g => g.Count ?? 0);
            bool open = report.Gaps.Any(g => g.LastEventId is null);
            return string.Create(CultureInfo.InvariantCulture,
                $"DAMAGED (salvaged): {report.Gaps.Count} gap(s), {lost} event(s) lost{(open ? " and an unknown number after the last gap" : "")}, {report.DamagedSegments.Count} damaged file(s)");
        }

        return report.Outcome switch
        {
            RecoveryOutcome.NothingToReplay => "complete: nothing to replay",
            RecoveryOutcome.Stopped => "stopped before the end of the log",
            RecoveryOutcome.InProgress => "in progress",
            _ => "complete",
        };
    }

    /// <summary>Whether the replay met damage or a gap (strict: stopped at it), even if it was stopped early (the CLI's exit code 1).</summary>
    public static bool FoundDamage(RecoveryReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.Outcome == RecoveryOutcome.StoppedAtDamage || report.Gaps.Count > 0 || report.Damage.Count > 0;
    }
}
