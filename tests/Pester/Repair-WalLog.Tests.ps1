#Requires -Version 7.4
# Pester 5 tests for Repair-WalLog, run against the staged module (./build.ps1 -Task Pester).

BeforeAll {
    . (Join-Path $PSScriptRoot 'FlashWal.TestSupport.ps1')

    # Every file of $Directory, recursively, with its SHA-256: what a dry run must leave as it was.
    function Get-DirectoryState {
        param([Parameter(Mandatory)][string]$Directory)
        Get-ChildItem -LiteralPath $Directory -Recurse -File | Sort-Object FullName |
            ForEach-Object { '{0} {1}' -f $_.FullName, (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash }
    }
}

AfterAll {
    Get-WalRecorder | Stop-WalRecorder -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Module -Name FlashWal -ErrorAction SilentlyContinue
}

Describe 'Repair-WalLog' -Tag 'CI' {
    It 'is exported, declares what it writes, and asks before it changes anything' {
        $command = Get-Command -Name Repair-WalLog
        $command.ModuleName | Should -Be 'FlashWal'
        $command.OutputType.Type | Should -Be ([FlashWal.Recovery.RepairReport])
        $command.Parameters.Keys | Should -Contain 'WhatIf'
        $command.Parameters.Keys | Should -Contain 'Force'
        $command.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact |
            Should -Be 'High'
    }

    Context 'an intact log' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'intact'
            New-TestWal -Directory $dir -Events 3000
        }

        It 'has nothing to repair: no report, no error, no change' {
            $before = Get-DirectoryState $dir
            $result = Repair-WalLog $dir -Force -Confirm:$false -ErrorVariable problems
            $result | Should -BeNullOrEmpty
            $problems | Should -BeNullOrEmpty
            Get-DirectoryState $dir | Should -Be $before
        }
    }

    Context 'damage at the end of the log, which a recorder refuses' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'damaged-end'
            New-TestWal -Directory $dir -Events 5000
            Set-FlippedByte -Path (Join-Path $dir '0000000000000001.wal') -Offset 69932
            $salvage = Invoke-WalRecovery $dir -Mode Salvage -WarningAction SilentlyContinue
        }

        It 'is refused by Start-WalRecorder before the repair' {
            { Start-WalRecorder $dir -Name refused -ErrorAction Stop } | Should -Throw -ErrorId 'WalDataCorrupt*'
        }

        It 'changes no byte with -WhatIf' {
            $before = Get-DirectoryState $dir
            $result = Repair-WalLog $dir -WhatIf
            $result | Should -BeNullOrEmpty
            Get-DirectoryState $dir | Should -Be $before
        }

        It 'fences the end, reports exactly the range salvage loses, and warns about it' {
            $report = Repair-WalLog $dir -Force -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue
            $report | Should -BeOfType ([FlashWal.Recovery.RepairReport])
            $report.IsComplete | Should -BeTrue
            @($report.Results).Count | Should -Be 1
            $report.Results[0].Action.Kind | Should -Be 'FenceDamagedTail'
            $report.Results[0].Outcome | Should -Be 'Applied'
            @($report.Losses).Count | Should -Be 1
            $report.Losses[0].FirstEventId | Should -Be $salvage.Gaps[0].FirstEventId
            $report.Losses[0].LastEventId | Should -Be $salvage.Gaps[0].LastEventId
            $report.NextEventId | Should -Be 5001
            $warnings | Should -HaveCount 1
            "$($warnings[0])" | Should -BeLike "lost: events $($salvage.Gaps[0].FirstEventId)..*"
        }

        It 'lets a recorder continue after every id the log held' {
            $recorder = Start-WalRecorder $dir -Name continued
            $ids = 'a', 'b' | Write-WalEvent -Name continued -PassThru
            Stop-WalRecorder continued -Confirm:$false
            $ids | Should -Be @(5001, 5002)
            $recorder.Name | Should -Be 'continued'
        }

        It 'has nothing more to do the second time, and still warns about the loss' {
            $again = Repair-WalLog $dir -Force -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue
            $again | Should -BeNullOrEmpty
            $warnings | Should -HaveCount 1
        }
    }

    Context 'a segment of another log at the end' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'mixed'
            $other = Join-Path $TestDrive 'other'
            New-TestWal -Directory $dir -Events 5000     # segments 0 and 1
            New-TestWal -Directory $other -Events 8000   # segments 0, 1 and 2 of another log
            $foreign = Join-Path $dir '0000000000000002.wal'
            Copy-Item -LiteralPath (Join-Path $other '0000000000000002.wal') -Destination $foreign
        }

        It 'is refused by Start-WalRecorder: continuing it would fork the log' {
            { Start-WalRecorder $dir -Name forked -ErrorAction Stop } | Should -Throw -ErrorId 'WalDataCorrupt*'
        }

        It 'is moved into a quarantine folder with a README, and nothing of this log is lost' {
            $report = Repair-WalLog $dir -Force -Confirm:$false
            $report.Results[0].Action.Kind | Should -Be 'QuarantineSegment'
            $report.Results[0].Action.Target | Should -Be $foreign
            @($report.Losses).Count | Should -Be 0
            Test-Path -LiteralPath $foreign | Should -BeFalse
            Test-Path -LiteralPath (Join-Path $report.QuarantineFolder '0000000000000002.wal') | Should -BeTrue
            Get-Content -LiteralPath (Join-Path $report.QuarantineFolder 'README.txt') -Raw | Should -Match '0000000000000002\.wal'
            Test-WalSegment $dir | Should -BeTrue
        }
    }

    Context 'a directory a recorder is writing' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'live'
            $null = Start-WalRecorder $dir -Name live
        }

        AfterAll {
            Stop-WalRecorder live -Confirm:$false -ErrorAction SilentlyContinue
        }

        It 'is refused with WalDirectoryLocked (ResourceBusy) and the next path is still repaired' {
            $intact = Join-Path $TestDrive 'next'
            New-TestWal -Directory $intact -Events 100
            $result = Repair-WalLog -LiteralPath $dir, $intact -Force -Confirm:$false -ErrorVariable problems -ErrorAction SilentlyContinue
            $result | Should -BeNullOrEmpty
            $problems | Should -HaveCount 1
            $problems[0].FullyQualifiedErrorId | Should -BeLike 'WalDirectoryLocked*'
            $problems[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
            $problems[0].TargetObject | Should -Be $dir
        }
    }

    Context 'paths that resolve to nothing' {
        It 'writes WalPathNotFound for a missing directory' {
            Repair-WalLog (Join-Path $TestDrive 'missing') -Force -Confirm:$false -ErrorVariable problems -ErrorAction SilentlyContinue
            $problems | Should -HaveCount 1
            $problems[0].FullyQualifiedErrorId | Should -BeLike 'WalPathNotFound*'
        }
    }
}
