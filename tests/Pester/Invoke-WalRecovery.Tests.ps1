#Requires -Version 7.4
# Pester 5 tests for Invoke-WalRecovery, run against the staged module (./build.ps1 -Task Pester).

BeforeAll {
    . (Join-Path $PSScriptRoot 'FlashWal.TestSupport.ps1')
}

AfterAll {
    Remove-Module -Name FlashWal -ErrorAction SilentlyContinue
}

Describe 'Invoke-WalRecovery' -Tag 'CI' {
    It 'is exported by the FlashWal module, declares what it writes and supports -WhatIf' {
        $command = Get-Command -Name Invoke-WalRecovery
        $command.ModuleName | Should -Be 'FlashWal'
        $command.CommandType | Should -Be 'Cmdlet'
        $command.OutputType.Type | Should -Be ([FlashWal.Recovery.RecoveryReport])
        $command.Parameters.Keys | Should -Contain 'WhatIf'
        $command.Parameters['Mode'].ParameterType | Should -Be ([FlashWal.Recovery.RecoveryMode])
    }

    Context 'an intact log (5000 events in two segments)' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'wal'
            New-TestWal -Directory $dir -Events 5000
        }

        It 'replays it all and reports it complete' {
            $report = Invoke-WalRecovery $dir
            @($report).Count | Should -Be 1
            $report | Should -BeOfType ([FlashWal.Recovery.RecoveryReport])
            $report.Outcome | Should -Be 'Complete'
            $report.IsComplete | Should -BeTrue
            $report.Mode | Should -Be 'Strict'
            $report.EventsReplayed | Should -Be 5000
            $report.FirstEventId | Should -Be 1
            $report.LastEventId | Should -Be 5000
            $report.PayloadBytes | Should -Be (5000 * 64)
            $report.SegmentsOpened | Should -Be 2
            $report.Tail | Should -Be 'Closed'
            $report.Gaps.Count | Should -Be 0
        }

        It 'replays from a middle id' {
            $report = Invoke-WalRecovery $dir -FromEventId 2500
            $report.Outcome | Should -Be 'Complete'
            $report.RequestedFrom | Should -Be 2500
            $report.FirstEventId | Should -Be 2500
            $report.LastEventId | Should -Be 5000
            $report.EventsReplayed | Should -Be 2501
        }

        It 'reports nothing to replay beyond the last event' {
            $report = Invoke-WalRecovery $dir -FromEventId 5001
            $report.Outcome | Should -Be 'NothingToReplay'
            $report.EventsReplayed | Should -Be 0
            $report.StartNote | Should -Be 'the log ends at event 5000: nothing from 5001 on'
        }

        It 'runs the script block once for each event, in order, with the event in $_, and writes only the report' {
            $seen = [System.Collections.Generic.List[long]]::new()
            $types = [System.Collections.Generic.List[string]]::new()
            $output = @(Invoke-WalRecovery $dir -FromEventId 2500 -ScriptBlock {
                    $seen.Add($_.Id)
                    $types.Add($_.GetType().FullName)
                    if ($args[0].Id -ne $PSItem.Id) { throw "`$args[0] is not `$_" }
                    'this output is discarded'
                })
            $seen | Should -Be @(2500..5000)
            @($types | Select-Object -Unique) | Should -Be @('FlashWal.Reading.WalEventRecord')
            $output.Count | Should -Be 1
            $output[0] | Should -BeOfType ([FlashWal.Recovery.RecoveryReport])
            $output[0].EventsReplayed | Should -Be 2501
        }

        It 'hands the script block the same events Get-WalEvent reads' {
            $fromScript = [System.Collections.Generic.List[string]]::new()
            $null = Invoke-WalRecovery $dir -FromEventId 4990 -ScriptBlock { $fromScript.Add("$_") }
            $fromScript | Should -Be @(Get-WalEvent $dir -FromEventId 4990 | ForEach-Object { "$_" })
        }

        It 'replays nothing with -WhatIf' {
            $seen = [System.Collections.Generic.List[long]]::new()
            $output = @(Invoke-WalRecovery $dir -WhatIf -ScriptBlock { $seen.Add($_.Id) })
            $output.Count | Should -Be 0
            $seen.Count | Should -Be 0
        }

        It 'accepts directories piped from Get-Item and paths by value' {
            @(Get-Item -LiteralPath $dir | Invoke-WalRecovery).EventsReplayed | Should -Be @(5000)
            @($dir, $dir | Invoke-WalRecovery -FromEventId 4001).EventsReplayed | Should -Be @(1000, 1000)
        }

        It 'shows its progress from the start to completion' {
            $run = Invoke-Bounded -TimeoutSeconds 60 -ArgumentList $dir -ScriptBlock {
                param($Directory)
                Invoke-WalRecovery $Directory -ScriptBlock { }
            }
            $run.EndedByItself | Should -BeTrue
            $progress = @($run.Shell.Streams.Progress)
            $progress.Count | Should -BeGreaterOrEqual 2
            $progress[0].Activity | Should -Be "Invoke-WalRecovery $dir"
            $progress[0].PercentComplete | Should -Be 0
            $progress[-1].RecordType | Should -Be 'Completed'
            $percents = @($progress | Select-Object -SkipLast 1 | ForEach-Object PercentComplete)
            $percents | Should -Be @($percents | Sort-Object) -Because 'progress only goes forward'
        }

        It 'stops cleanly on Ctrl+C, writes nothing more and releases every file' {
            $seen = [System.Collections.Concurrent.ConcurrentQueue[long]]::new()
            $run = Invoke-Bounded -TimeoutSeconds 60 -ArgumentList $dir, $seen -StopWhen { $seen.Count -ge 20 } -ScriptBlock {
                param($Directory, $Seen)
                Invoke-WalRecovery $Directory -ScriptBlock { $Seen.Enqueue($_.Id); Start-Sleep -Milliseconds 20 }
            }
            $run.EndedByItself | Should -BeFalse
            $run.Stopped | Should -BeTrue
            $run.StopSeconds | Should -BeLessThan 5
            $run.State | Should -Be 'Stopped'
            $run.Output.Count | Should -Be 0
            $seen.Count | Should -BeLessThan 5000
            @($seen) | Should -Be @(1..$seen.Count)
            if ($IsLinux) {
                Get-OpenHandleCount -Directory $dir | Should -Be 0
            }
        }

        It 'ends with the script block''s own error when it throws, releasing every file' {
            {
                Invoke-WalRecovery $dir -ScriptBlock { if ($_.Id -eq 1234) { throw 'the application cannot apply event 1234' } }
            } | Should -Throw 'the application cannot apply event 1234'
            if ($IsLinux) {
                Get-OpenHandleCount -Directory $dir | Should -Be 0
            }
        }
    }

    Context 'a log with a flipped byte' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'damaged'
            New-TestWal -Directory $dir -Events 5000
            $damaged = Join-Path $dir '0000000000000000.wal'
            # The first block starts at 4096 and holds 64 KiB at most: 4096 + 65536 + 300 is in a later block.
            $flipped = 4096 + 65536 + 300
            Set-FlippedByte -Path $damaged -Offset $flipped
            # What flashwal recover (salvage) says was lost: 'gap: events A..B (n) lost: <finding>'.
            $recovered = @(& dotnet $cliPath recover $dir --mode salvage)
            $cliGap = @($recovered | Where-Object { $_ -like 'gap: *' })
            $cliGap.Count | Should -Be 1
            $null = $cliGap[0] -match '^gap: events (\d+)\.\.(\d+) '
            $lostFirst = [long]$Matches[1]
            $lostLast = [long]$Matches[2]
        }

        It 'in strict mode writes the report and a WalRecoveryStoppedAtDamage error naming file, offset and block' {
            $report = Invoke-WalRecovery $dir -ErrorVariable errs -ErrorAction SilentlyContinue
            $report.Outcome | Should -Be 'StoppedAtDamage'
            $report.IsComplete | Should -BeFalse
            $report.LastEventId | Should -Be ($lostFirst - 1)
            $report.EventsReplayed | Should -Be ($lostFirst - 1)
            $report.Failure.File | Should -Be $damaged
            $report.Failure.Offset | Should -BeLessOrEqual $flipped
            $report.Failure.BlockIndex | Should -BeGreaterThan 0

            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalRecoveryStoppedAtDamage,*'
            $errs[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidData)
            $errs[0].TargetObject | Should -Be $report
            $errs[0].Exception.Finding | Should -Be $report.Failure
            "$errs" | Should -BeLike "STOPPED at damage (strict): ${damaged}:$($report.Failure.Offset): damage * block $($report.Failure.BlockIndex): *"
        }

        It 'stops a drill script with -ErrorAction Stop, the report in the catch block' {
            $caught = $null
            try {
                $null = Invoke-WalRecovery $dir -ErrorAction Stop
            }
            catch {
                $caught = $_
            }
            $caught | Should -Not -BeNullOrEmpty
            $caught.FullyQualifiedErrorId | Should -BeLike 'WalRecoveryStoppedAtDamage,*'
            $caught.TargetObject | Should -BeOfType ([FlashWal.Recovery.RecoveryReport])
            $caught.TargetObject.Failure.File | Should -Be $damaged
            $caught.TargetObject.LastEventId | Should -Be ($lostFirst - 1)
        }

        It 'in strict mode replays from the next segment without an error' {
            # Strict mode reads a damaged segment up to its damage only: the next segment is the first clean start.
            $next = (Get-WalSegment $dir)[1].FirstEventId
            $report = Invoke-WalRecovery $dir -FromEventId $next -ErrorAction Stop
            $report.Outcome | Should -Be 'Complete'
            $report.FirstEventId | Should -Be $next
            $report.LastEventId | Should -Be 5000
        }

        It 'in salvage mode reports the exact gap flashwal recover reports, as a warning too' {
            $report = Invoke-WalRecovery $dir -Mode Salvage -WarningVariable warnings -WarningAction SilentlyContinue
            $report.Mode | Should -Be 'Salvage'
            $report.Outcome | Should -Be 'Complete'
            $report.IsComplete | Should -BeFalse
            $report.Gaps.Count | Should -Be 1
            $gap = $report.Gaps[0]
            $gap.FirstEventId | Should -Be $lostFirst
            $gap.LastEventId | Should -Be $lostLast
            $gap.Count | Should -Be ($lostLast - $lostFirst + 1)
            $gap.Cause.File | Should -Be $damaged
            $gap.Cause | Should -Be $report.Damage[0]
            $report.EventsReplayed | Should -Be (5000 - $gap.Count)
            [FlashWal.Recovery.RecoveryText]::Gap($gap) | Should -Be $cliGap[0]
            @($warnings.Message) | Should -Contain $cliGap[0]
            @($warnings.Message)[-1] | Should -Be "DAMAGED (salvaged): 1 gap(s), $($gap.Count) event(s) lost, 1 damaged file(s)"
        }

        It 'in salvage mode hands the script block every event that verifies, once, in order' {
            $seen = [System.Collections.Generic.List[long]]::new()
            $null = Invoke-WalRecovery $dir -Mode Salvage -WarningAction SilentlyContinue -ScriptBlock { $seen.Add($_.Id) }
            $seen | Should -Be @(@(1..($lostFirst - 1)) + @(($lostLast + 1)..5000))
        }

        It 'shows the gap in the gap table' {
            $table = (Invoke-WalRecovery $dir -Mode Salvage -WarningAction SilentlyContinue).Gaps | Format-Table | Out-String -Width 200
            $table | Should -Match "\s$lostFirst\s+$lostLast\s+$($lostLast - $lostFirst + 1)\s+BlockChecksumMismatch\s+0000000000000000\.wal"
        }
    }

    Context 'paths that cannot be recovered' {
        It 'writes WalPathNotFound for a missing path and goes on with the next' {
            $dir = Join-Path $TestDrive 'small'
            New-TestWal -Directory $dir -Events 100
            $missing = Join-Path $TestDrive 'no-such-wal'
            $reports = @(Invoke-WalRecovery $missing, $dir -ErrorVariable errs -ErrorAction SilentlyContinue)
            $reports.EventsReplayed | Should -Be @(100)
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalPathNotFound,*'
            $errs[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ObjectNotFound)
        }

        It 'refuses a negative -FromEventId and an unknown -Mode when binding' {
            { Invoke-WalRecovery $TestDrive -FromEventId -1 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
            { Invoke-WalRecovery $TestDrive -Mode Lenient } | Should -Throw -ErrorId 'CannotConvertArgumentNoMessage,*'
        }
    }
}
