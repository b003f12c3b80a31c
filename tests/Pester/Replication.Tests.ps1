#Requires -Version 7.4
# Pester 5 tests for replication through the module (issue 17): Start-WalRecorder -ReplicateTo,
# Write-WalEvent -Wait Replicated, Wait-WalRecorder -Replicated, Get-WalReplication and Restore-WalLog,
# against a real three-node NATS JetStream cluster on 127.0.0.1 that the tests start and stop
# (./build.ps1 installs nats-server). Skipped, saying why, only where it could not be installed.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'FlashWal.TestSupport.ps1')
    $script:natsUnavailable = Get-NatsUnavailableReason
}

Describe 'Replication to NATS JetStream' -Skip:([bool]$natsUnavailable) {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'FlashWal.TestSupport.ps1') # $modulePath, $cliPath; imports the module
        $natsRoot = Join-Path ([IO.Path]::GetTempPath()) "flashwal-pester-nats-$([guid]::NewGuid().ToString('n'))"
        $cluster = Start-TestNatsCluster -Directory $natsRoot
    }

    AfterAll {
        Get-WalRecorder | Stop-WalRecorder -ErrorAction SilentlyContinue
        if ($cluster) {
            Stop-TestNatsCluster $cluster
        }
        Remove-Item -LiteralPath $natsRoot -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'records a replicated log that waits, reports and restores byte for byte' {
        $wal = Join-Path $TestDrive 'replicated'
        $recorder = Start-WalRecorder -Path $wal -Name 'replicated' -SegmentSize 256KB -ReplicateTo $cluster.Urls
        $ids = 1..3000 | ForEach-Object { "event $_" } | Write-WalEvent -Name 'replicated' -Wait Replicated -PassThru
        $ids.Count | Should -Be 3000
        $ids[-1] | Should -Be 3000
        $recorder.ReplicatedEventId | Should -BeGreaterOrEqual 3000 # every id handed back was replicated first

        1..500 | ForEach-Object { "more $_" } | Write-WalEvent -Name 'replicated'
        Wait-WalRecorder -Name 'replicated' -Replicated -Timeout 60
        $status = Get-WalReplication -Name 'replicated'
        $status.State | Should -Be ([FlashWal.Replication.ShipperState]::Shipping)
        $status.ReplicatedEventId | Should -Be 3500
        $status.LagEvents | Should -Be 0
        $status.Stream | Should -BeLike 'FLASHWAL_*'
        Get-WalRecorder replicated | Out-String -Width 200 | Should -Match 'replicated\s+Running\s+3500\s+3500\s+3500\s+3500\s' # the Replicated column
        Stop-WalRecorder -Name 'replicated'

        $copy = Join-Path $TestDrive 'restored'
        $report = Restore-WalLog -Server $cluster.Urls -Path $copy -Stream $status.Stream
        $report.Verification.IsIntact | Should -BeTrue
        $report.LastEventId | Should -Be 3500
        $report.ClosedSegments | Should -Be $report.Segments
        foreach ($segment in Get-ChildItem -LiteralPath $wal -Filter '*.wal') {
            $restored = Join-Path $copy $segment.Name
            (Get-FileHash -LiteralPath $restored).Hash | Should -Be (Get-FileHash -LiteralPath $segment.FullName).Hash
        }
        (Get-ChildItem -LiteralPath $copy -Filter '*.wal').Count | Should -Be (Get-ChildItem -LiteralPath $wal -Filter '*.wal').Count
        (Get-WalEvent -Path $copy -FromEventId 3000 -First 1).Text | Should -Be 'event 3000'

        # Straight from the stream, without restoring: the same events.
        $remote = Get-WalEvent -Server $cluster.Urls -Stream $status.Stream -FromEventId 2999 -First 3
        $remote.Text | Should -Be @('event 2999', 'event 3000', 'more 1')
        $remote[0].Segment | Should -BeLike "$($status.Stream)/*.wal"
    }

    It 'refuses a target that is not a NATS URL before anything starts' {
        { Start-WalRecorder -Path (Join-Path $TestDrive 'bad-url') -Name 'bad-url' -ReplicateTo 'http://127.0.0.1:4222' -ErrorAction Stop } |
            Should -Throw -ErrorId 'WalStreamUrlInvalid,FlashWal.PowerShell.Cmdlets.StartWalRecorderCommand'
        Get-WalRecorder -Name 'bad-url' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'stops the recorder again when no server answers, and says so' {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $null = Start-WalRecorder -Path (Join-Path $TestDrive 'nobody') -Name 'nobody' -ReplicateTo "nats://127.0.0.1:$port" -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'WalStreamUnreachable,FlashWal.PowerShell.Cmdlets.StartWalRecorderCommand'
        $errs[0].Exception.Message | Should -BeLike "*127.0.0.1:$port*"
        Get-WalRecorder -Name 'nobody' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'says a recorder is not replicated when a script waits for replication' {
        $null = Start-WalRecorder -Path (Join-Path $TestDrive 'local') -Name 'local'
        'x' | Write-WalEvent -Name 'local'
        Wait-WalRecorder -Name 'local' -Replicated -Timeout 5 -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -Be 'WalRecorderNotReplicated,FlashWal.PowerShell.Cmdlets.WaitWalRecorderCommand'
        Get-WalReplication -Name 'local' | Should -BeNullOrEmpty
        Stop-WalRecorder -Name 'local'
    }

    It 'restores only into an empty directory' {
        $full = Join-Path $TestDrive 'full'
        New-Item -ItemType Directory -Path $full | Out-Null
        Set-Content -LiteralPath (Join-Path $full 'other.txt') -Value 'not a log'
        $null = Restore-WalLog -Server $cluster.Urls -Path $full -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -Be 'WalRestoreTargetNotEmpty,FlashWal.PowerShell.Cmdlets.RestoreWalLogCommand'
        Get-ChildItem -LiteralPath $full | Should -HaveCount 1
    }
}
