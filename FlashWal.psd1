# Module manifest for FlashWal: the PowerShell face of the FlashWal write-ahead log.
# ModuleVersion must equal <Version> in Directory.Build.props (tests/Unit/ModuleContractTests.cs checks it).
@{
    RootModule           = 'FlashWal.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '25030ea9-03fb-4c18-8753-d1a612ae0f33'
    Author               = 'FlashWal developers'
    CompanyName          = 'FlashWal developers'
    Copyright            = '(c) FlashWal developers. All rights reserved.'
    Description          = 'FlashWal, a write-ahead log for latency-critical event recording: start recorders and write events from scripts, gate CI on the integrity of WAL files, replay, recover and repair logs in incident drills.'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('FlashWal.Format.ps1xml')
    CmdletsToExport      = @(
        'Test-WalSegment'
        # Recorders: start, feed, list, watch, wait for and stop named recorders.
        'Start-WalRecorder'
        'Write-WalEvent'
        'Get-WalRecorder'
        'Stop-WalRecorder'
        'Get-WalTelemetry'
        'Wait-WalRecorder'
        # Reading and recovery: segments, events, recovery drills.
        'Get-WalSegment'
        'Get-WalEvent'
        'Invoke-WalRecovery'
        # Repair: make a damaged log continuable, deleting no event.
        'Repair-WalLog'
        # Replication: where a recorder's replica stands, and a log rebuilt from its NATS JetStream stream.
        'Get-WalReplication'
        'Restore-WalLog'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            # What a gallery shows and Install-PSResource reads (Compress-PSResource copies these into
            # the package's .nuspec). ProjectUri and LicenseUri stay unset until the project has a public
            # home: the licence (MIT) travels in the package as LICENSE.
            Tags         = @('WAL', 'WriteAheadLog', 'Logging', 'Recovery', 'Integrity', 'Trading', 'Durability', 'Linux', 'PSEdition_Core')
            ReleaseNotes = @'
0.1.0: the first packaged release.
- Recorders from scripts: Start-WalRecorder, Write-WalEvent, Get-WalRecorder, Get-WalTelemetry, Wait-WalRecorder, Stop-WalRecorder.
- CI gates and drills: Test-WalSegment, Get-WalSegment, Get-WalEvent (-Wait follows a live log), Invoke-WalRecovery (strict or salvage), Repair-WalLog.
- The same engine as the flashwal command-line tool; docs/FORMAT.md describes every byte on disk.
'@
        }
    }
}
