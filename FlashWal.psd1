# Module manifest for FlashWal: the PowerShell face of the FlashWal write-ahead log.
# ModuleVersion must equal <Version> in Directory.Build.props (tests/Unit/ModuleContractTests.cs checks it).
@{
    RootModule           = 'FlashWal.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '25030ea9-03fb-4c18-8753-d1a612ae0f33'
    Author               = 'FlashWal developers'
    CompanyName          = 'FlashWal developers'
    Copyright            = '(c) FlashWal developers. All rights reserved.'
    Description          = 'FlashWal write-ahead log: verify, inspect, record and recover WAL segments from PowerShell.'
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
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags = @('WAL', 'WriteAheadLog', 'Logging', 'Recovery', 'Integrity')
        }
    }
}
