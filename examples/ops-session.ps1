#Requires -Version 7.4
<#
.SYNOPSIS
    An operations engineer's session with the FlashWal module: record, watch, stop, verify, recover.

.DESCRIPTION
    What the README's first command runs (through ./build.ps1 -Task OpsSession, on the Release build):

      1. Start-WalRecorder   a named recorder on a new WAL directory, on default settings
      2. Write-WalEvent      a million order events ("order <n> filled ...", UTF-8 text) piped flat out
      3. Get-WalTelemetry    the recorder's own measurements: append and rotation latency, durable lag
      4. Stop-WalRecorder    commit, flush, close
      5. Test-WalSegment     every byte of the log verified (the CI gate)
      6. Invoke-WalRecovery  a strict replay of the whole log (the incident drill)

    and a short summary. It stops with exit code 1, saying why, when any step finds less than it should
    (an event missing, a finding, a gap), so it doubles as an end-to-end check.

    The log goes to a new directory under the system's temporary folder, removed at the end unless
    -Keep is given or -Directory names where to write it (then it stays).

.PARAMETER ModulePath
    The module to import: the staged manifest (./out/FlashWal/FlashWal.psd1, what ./build.ps1 makes) by
    default; 'FlashWal' imports an installed module by name.

.PARAMETER Events
    How many events to write (default 1,000,000).

.PARAMETER Directory
    The WAL directory to write, which must not hold a log yet. Kept afterwards.

.PARAMETER Keep
    Keep the temporary log (its path is printed) instead of removing it.

.EXAMPLE
    dotnet pwsh -NoProfile -File ./examples/ops-session.ps1 -Events 200000 -Keep
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/FlashWal/FlashWal.psd1'),

    [ValidateRange(1, [long]::MaxValue)]
    [long]$Events = 1000000,

    [string]$Directory,

    [switch]$Keep
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$module = Import-Module -Name $ModulePath -PassThru
$temporary = -not $Directory
if ($temporary) {
    $Directory = Join-Path ([IO.Path]::GetTempPath()) "flashwal-ops-session-$([DateTime]::UtcNow.ToString('yyyyMMddTHHmmssZ'))"
}
elseif ((Test-Path -LiteralPath $Directory) -and (Get-ChildItem -LiteralPath $Directory -Filter '*.wal*')) {
    throw "'$Directory' already holds a log; give a new directory (this session expects to write ids 1..$Events)."
}
$name = 'ops-session'
$problems = [System.Collections.Generic.List[string]]::new()

function Format-Ns([double]$Nanoseconds) {
    if ($Nanoseconds -lt 1000) { return '{0:N0} ns' -f $Nanoseconds }
    if ($Nanoseconds -lt 1000000) { return '{0:N1} µs' -f ($Nanoseconds / 1000) }
    return '{0:N1} ms' -f ($Nanoseconds / 1000000)
}

function Write-Line([string]$Step, [string]$Text) {
    Write-Host ('{0,-20} {1}' -f $Step, $Text)
}

Write-Host "FlashWal ops session: module $($module.Version) from $($module.ModuleBase), PowerShell $($PSVersionTable.PSVersion)"
Write-Host "log: $Directory ($(if ($temporary -and -not $Keep) { 'removed at the end; -Keep keeps it' } else { 'kept' }))"
Write-Host ''

try {
    # 1. A recorder on defaults: 64 MiB segments prepared ahead, Interval durability (a flush every 10 ms).
    $recorder = Start-WalRecorder -Path $Directory -Name $name
    Write-Line 'Start-WalRecorder' "recorder '$($recorder.Name)' on $($recorder.Path), default settings"

    # 2. Events flat out through the pipeline: the script block streams them, nothing is held in memory.
    $watch = [Diagnostics.Stopwatch]::StartNew()
    & { foreach ($n in 1..$Events) { "order $n filled qty=100 px=101.25" } } | Write-WalEvent -Name $name -Type 7
    Wait-WalRecorder -Name $name -Timeout 60 # every event written is durable
    $writeSeconds = $watch.Elapsed.TotalSeconds
    Write-Line 'Write-WalEvent' ("{0:N0} events written and durable in {1:N1} s ({2:N0} events/s through the pipeline)" -f $Events, $writeSeconds, ($Events / $writeSeconds))

    # 3. What the recorder measured on its writer thread.
    $telemetry = Get-WalTelemetry -Name $name
    $append = $telemetry.Append
    Write-Line 'Get-WalTelemetry' ('append p50 {0}, p99 {1}, p99.9 {2}, p99.99 {3}, max {4} ({5:N0} appends)' -f `
        (Format-Ns $append.P50), (Format-Ns $append.P99), (Format-Ns $append.P999), (Format-Ns $append.P9999), (Format-Ns $append.Max), $append.Count)
    Write-Line '' ('{0} rotation(s), rotation append p50 {1}, {2} preparer miss(es); {3:N0} commits, {4:N0} syncs (p99 {5}), durable lag {6}' -f `
        $telemetry.Rotations, (Format-Ns $telemetry.RotationAppend.P50), $telemetry.PreparerMisses, $telemetry.Commits, $telemetry.Syncs, (Format-Ns $telemetry.Sync.P99), $telemetry.DurableLag)

    # 4. Commit, flush and close.
    $stopped = Stop-WalRecorder -Name $name -PassThru
    Write-Line 'Stop-WalRecorder' ('stopped: committed {0:N0}, durable {1:N0}, {2} segment(s)' -f $stopped.CommittedEventId, $stopped.DurableEventId, $stopped.Segments)
    if ($stopped.DurableEventId -ne $Events) {
        $problems.Add("the recorder stopped with durable id $($stopped.DurableEventId), not $Events")
    }

    # 5. The CI gate: every byte verified.
    $watch.Restart()
    $verification = Test-WalSegment -Path $Directory -Detailed
    $bytes = ($verification.Segments | Measure-Object -Property DataBytes -Sum).Sum
    Write-Line 'Test-WalSegment' ('{0}: {1} segment(s), {2:N0} events, ids {3}..{4}, {5} finding(s); {6:N0} MB verified in {7:N2} s' -f `
        $(if ($verification.IsIntact) { 'intact' } else { 'DAMAGED' }), $verification.Segments.Count, $verification.Events,
        $verification.FirstEventId, $verification.LastEventId, $verification.Findings.Count, ($bytes / 1MB), $watch.Elapsed.TotalSeconds)
    if (-not $verification.IsIntact -or $verification.Findings.Count -gt 0 -or $verification.Events -ne $Events) {
        $problems.Add("verification: intact=$($verification.IsIntact), $($verification.Findings.Count) finding(s), $($verification.Events) events")
    }

    # 6. The drill: a strict replay of everything, every block verified again.
    $recovery = Invoke-WalRecovery -Path $Directory -Mode Strict
    Write-Line 'Invoke-WalRecovery' ('{0} {1}: {2:N0} events replayed, ids {3}..{4}, {5} gap(s), tail {6}, in {7:N2} s' -f `
        $recovery.Mode, $recovery.Outcome, $recovery.EventsReplayed, $recovery.FirstEventId, $recovery.LastEventId,
        $recovery.Gaps.Count, $recovery.Tail, $recovery.Elapsed.TotalSeconds)
    if ("$($recovery.Outcome)" -ne 'Complete' -or $recovery.EventsReplayed -ne $Events -or $recovery.LastEventId -ne $Events) {
        $problems.Add("recovery: $($recovery.Outcome), $($recovery.EventsReplayed) events, last id $($recovery.LastEventId)")
    }
}
finally {
    if (Get-WalRecorder -Name $name -ErrorAction SilentlyContinue) {
        Stop-WalRecorder -Name $name
    }
    if ($temporary -and -not $Keep -and (Test-Path -LiteralPath $Directory)) {
        Remove-Item -LiteralPath $Directory -Recurse -Force
    }
}

Write-Host ''
if ($problems.Count -gt 0) {
    [Console]::Error.WriteLine("ops session: FAILED: $($problems -join '; ')")
    exit 1
}
Write-Host ("OK: {0:N0} events written, durable, verified and replayed{1}" -f $Events, $(if ($temporary -and -not $Keep) { '; the log was removed' } else { "; the log is in $Directory" }))
