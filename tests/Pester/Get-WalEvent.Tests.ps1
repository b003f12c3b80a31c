#Requires -Version 7.4
# Pester 5 tests for Get-WalEvent, run against the staged module (./build.ps1 -Task Pester).

BeforeAll {
    . (Join-Path $PSScriptRoot 'FlashWal.TestSupport.ps1')
}

AfterAll {
    Remove-Module -Name FlashWal -ErrorAction SilentlyContinue
}

Describe 'Get-WalEvent' -Tag 'CI' {
    It 'is exported by the FlashWal module and declares what it writes' {
        $command = Get-Command -Name Get-WalEvent
        $command.ModuleName | Should -Be 'FlashWal'
        $command.CommandType | Should -Be 'Cmdlet'
        $command.OutputType.Type | Should -Be ([FlashWal.Reading.WalEventRecord])
    }

    Context 'a log the CLI recorded (5000 binary events in two segments)' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'wal'
            New-TestWal -Directory $dir -Events 5000
            $segments = @(Get-ChildItem -LiteralPath $dir -Filter '*.wal' | Sort-Object -Property Name)
        }

        It 'reads -First events from -FromEventId' {
            $events = @(Get-WalEvent $dir -FromEventId 2500 -First 3)
            $events.Id | Should -Be @(2500, 2501, 2502)
            foreach ($event in $events) {
                $event | Should -BeOfType ([FlashWal.Reading.WalEventRecord])
                $event.Type | Should -Be 1
                $event.Length | Should -Be 64
                $event.Payload.Length | Should -Be 64
                $event.Payload | Should -BeOfType ([byte])
                $event.Hex.Length | Should -Be 128
                $event.Text | Should -BeNullOrEmpty # synthetic payloads are binary
                $event.Time | Should -BeOfType ([DateTimeOffset])
                # Integer division: a double loses the last digits of a timestamp with all nine digits of its nanoseconds.
                $event.Time.UtcTicks | Should -Be ([DateTimeOffset]::UnixEpoch.UtcTicks + [Math]::DivRem([long]$event.TimeUnixNs, [long]100).Item1)
            }
        }

        It 'reads from -FromEventId to -ToEventId inclusive, across a segment boundary, naming each segment' {
            $events = @(Get-WalEvent $dir -FromEventId 2926 -ToEventId 2931)
            $events.Id | Should -Be @(2926, 2927, 2928, 2929, 2930, 2931)
            $events.Segment | Should -Be (@($segments[0].FullName) * 3 + @($segments[1].FullName) * 3)
        }

        It 'reads to the end of the log, and nothing beyond it' {
            @(Get-WalEvent $dir -FromEventId 4990).Id | Should -Be @(4990..5000)
            @(Get-WalEvent $dir -ToEventId 4).Id | Should -Be @(1..4)
            @(Get-WalEvent $dir -FromEventId 5001).Count | Should -Be 0
            @(Get-WalEvent $dir).Count | Should -Be 5000
        }

        It 'shows every event as flashwal dump prints it' {
            $dumped = @(& dotnet $cliPath dump $dir --from 1234 --count 5)
            $LASTEXITCODE | Should -Be 0
            @(Get-WalEvent $dir -FromEventId 1234 -First 5 | ForEach-Object { "$_" }) | Should -Be $dumped
        }

        It 'counts -First per file piped from Get-ChildItem, like Get-Content -TotalCount' {
            $events = @(Get-ChildItem -Path (Join-Path $dir '*.wal') | Get-WalEvent -First 2)
            $events.Id | Should -Be @(1, 2, 2929, 2930)
        }

        It 'stops reading when Select-Object has enough' {
            @(Get-WalEvent $dir | Select-Object -First 3).Id | Should -Be @(1, 2, 3)
        }
    }

    Context 'a log of text and binary payloads of several types' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'orders'
            New-EventWal -Directory $dir -Events @(
                @{ Type = 11; Text = 'order 42 filled' }
                @{ Type = 12; Bytes = [byte[]](0x00, 0x01, 0x02, 0xFF) }
                @{ Type = 13; Text = "tab`there `"quoted`" Zürich" }
                @{ Type = 14; Text = '' }
                @{ Type = 11; Text = 'order 43 cancelled ✓' }
                @{ Type = 15; Bytes = [byte[]](0xC3) }       # cut off in the middle of a character
                @{ Type = 16; Text = "bell`a" }               # a control character: not text
            )
        }

        It 'gives Text for UTF-8 text payloads and $null for the others' {
            $events = @(Get-WalEvent $dir)
            $events.Id | Should -Be @(1..7)
            $events.Type | Should -Be @(11, 12, 13, 14, 11, 15, 16)
            $events[0].Text | Should -BeExactly 'order 42 filled'
            $events[1].Text | Should -BeNullOrEmpty
            $events[1].Payload | Should -Be @(0x00, 0x01, 0x02, 0xFF)
            $events[2].Text | Should -BeExactly "tab`there `"quoted`" Zürich"
            $events[3].Text | Should -BeExactly ''
            $null -eq $events[3].Text | Should -BeFalse -Because 'the empty payload is the empty text, not $null'
            $events[4].Text | Should -BeExactly 'order 43 cancelled ✓'
            $null -eq $events[5].Text | Should -BeTrue
            $null -eq $events[6].Text | Should -BeTrue
            [System.Text.Encoding]::UTF8.GetString($events[4].Payload) | Should -BeExactly $events[4].Text
        }

        It 'keeps only the events of the -Type asked for' {
            @(Get-WalEvent $dir -Type 11).Id | Should -Be @(1, 5)
            @(Get-WalEvent $dir -Type 11, 14).Id | Should -Be @(1, 4, 5)
            @(Get-WalEvent $dir -Type 11, 13, 14 -First 2).Id | Should -Be @(1, 3)
            @(Get-WalEvent $dir -Type 99).Count | Should -Be 0
        }

        It 'reads one segment file on its own' {
            $file = (Get-ChildItem -LiteralPath $dir -Filter '*.wal' | Sort-Object -Property Name | Select-Object -First 1).FullName
            $events = @(Get-WalEvent -LiteralPath $file -FromEventId 3 -ToEventId 4)
            $events.Id | Should -Be @(3, 4)
            $events.Segment | Should -Be @($file, $file)
        }

        It 'shows the payload as text or hex in its default table' {
            $table = Get-WalEvent $dir -ToEventId 2 | Format-Table | Out-String -Width 200
            $table | Should -Match '"order 42 filled"'
            $table | Should -Match '000102ff'
        }
    }

    Context 'arguments and paths that cannot be read' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'small'
            New-TestWal -Directory $dir -Events 100
            $file = (Get-ChildItem -LiteralPath $dir -Filter '*.wal' | Select-Object -First 1).FullName
            $empty = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'empty')
        }

        It 'stops with WalEventFilterInvalid when -ToEventId is below -FromEventId' {
            { Get-WalEvent $dir -FromEventId 10 -ToEventId 5 } | Should -Throw -ErrorId 'WalEventFilterInvalid,*'
            try {
                Get-WalEvent $dir -FromEventId 10 -ToEventId 5
            }
            catch {
                $_.CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidArgument)
            }
        }

        It 'refuses a -First below 1, a negative -FromEventId and an empty -Type when binding' {
            { Get-WalEvent $dir -First 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
            { Get-WalEvent $dir -FromEventId -1 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
            { Get-WalEvent $dir -Type @() } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
        }

        It 'writes WalPathNotFound for a missing path and WalNoSegment for a directory without segments, and goes on' {
            $missing = Join-Path $TestDrive 'no-such-wal'
            $events = @(Get-WalEvent $missing, $empty.FullName, $dir -First 1 -ErrorVariable errs -ErrorAction SilentlyContinue)
            $events.Id | Should -Be @(1)
            $errs.Count | Should -Be 2
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalPathNotFound,*'
            $errs[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ObjectNotFound)
            $errs[0].TargetObject | Should -Be $missing
            $errs[1].FullyQualifiedErrorId | Should -BeLike 'WalNoSegment,*'
            $errs[1].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ObjectNotFound)
        }

        It 'writes WalPathNotADirectory for -Wait with a file' {
            $events = @(Get-WalEvent -LiteralPath $file -Wait -ErrorVariable errs -ErrorAction SilentlyContinue)
            $events.Count | Should -Be 0
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalPathNotADirectory,*'
            $errs[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidArgument)
        }
    }

    Context 'a log with a flipped byte' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'damaged'
            New-TestWal -Directory $dir -Events 5000
            $damaged = Join-Path $dir '0000000000000000.wal'
            # The first block starts at 4096 and holds 64 KiB at most: 4096 + 65536 + 300 is in a later block.
            Set-FlippedByte -Path $damaged -Offset (4096 + 65536 + 300)
            # The last event before the damage, as flashwal dump (strict) prints it.
            $dumped = @(& dotnet $cliPath dump $dir 2>$null)
            $lastIntact = [long]($dumped[-1] -replace '^id=(\d+) .*$', '$1')
        }

        It 'writes every event before the damage, then WalDataCorrupt naming file, offset and block' {
            $events = @(Get-WalEvent $dir -ErrorVariable errs -ErrorAction SilentlyContinue)
            $lastIntact | Should -BeGreaterThan 100
            $events.Id | Should -Be @(1..$lastIntact)
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalDataCorrupt,*'
            $errs[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidData)
            $finding = $errs[0].Exception.Finding
            $finding.File | Should -Be $damaged
            $finding.Offset | Should -BeLessOrEqual (4096 + 65536 + 300)
            $finding.BlockIndex | Should -BeGreaterThan 0
            $errs[0].Exception.Message | Should -BeLike "${damaged}:$($finding.Offset): damage * block $($finding.BlockIndex): *"
        }

        It 'reads the events before the damage without an error' {
            @(Get-WalEvent $dir -FromEventId 10 -ToEventId 20 -ErrorAction Stop).Id | Should -Be @(10..20)
        }

        It 'stops a script at the damage with -ErrorAction Stop' {
            { Get-WalEvent $dir -ErrorAction Stop } | Should -Throw -ErrorId 'WalDataCorrupt,*'
        }
    }

    Context '-Wait on a log a recorder is writing' {
        BeforeEach {
            $dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('n'))
            $null = New-Item -ItemType Directory -Path $dir
            $recorder = $null
        }

        AfterEach {
            if ($recorder -and -not $recorder.HasExited) {
                Stop-Process -Id $recorder.Id -Force
                $null = $recorder.WaitForExit(10000)
            }
        }

        It 'follows it from the first event and stops after -First' {
            $recorder = Start-TestRecorder -Directory $dir -Arguments '--events', '20000', '--rate', '2000', '--segment-size', '256KiB'
            $run = Invoke-Bounded -TimeoutSeconds 60 -ArgumentList $dir -ScriptBlock {
                param($Directory)
                Get-WalEvent $Directory -Wait -First 50
            }
            $run.EndedByItself | Should -BeTrue
            $run.Errors.Count | Should -Be 0
            $run.Output.Id | Should -Be @(1..50)
            $recorder.HasExited | Should -BeFalse -Because 'the recorder was still writing: the events came as they were committed'
        }

        It 'waits for -FromEventId and reads exactly -First events from there' {
            $recorder = Start-TestRecorder -Directory $dir -Arguments '--events', '20000', '--rate', '2000', '--segment-size', '256KiB'
            $run = Invoke-Bounded -TimeoutSeconds 60 -ArgumentList $dir -ScriptBlock {
                param($Directory)
                Get-WalEvent $Directory -Wait -FromEventId 3000 -First 5
            }
            $run.EndedByItself | Should -BeTrue
            $run.Output.Id | Should -Be @(3000..3004)
            Split-Path -Parent $run.Output[0].Segment | Should -Be $dir
        }

        It 'ends by itself when the recorder closes the log, with every event' {
            $recorder = Start-TestRecorder -Directory $dir -Arguments '--events', '300', '--rate', '1000'
            $run = Invoke-Bounded -TimeoutSeconds 60 -ArgumentList $dir -ScriptBlock {
                param($Directory)
                Get-WalEvent $Directory -Wait -Verbose
            }
            $run.EndedByItself | Should -BeTrue
            $run.Output.Id | Should -Be @(1..300)
            @($run.Shell.Streams.Verbose.Message | Where-Object { $_ -like '*300 event(s); the recorder closed the log' }).Count | Should -Be 1
        }

        It 'ends a wait at once when the command is stopped (Ctrl+C)' {
            # No recorder: the empty directory is waited on until the command is stopped.
            $run = Invoke-Bounded -TimeoutSeconds 1 -ArgumentList $dir -ScriptBlock {
                param($Directory)
                Get-WalEvent $Directory -Wait
            }
            $run.EndedByItself | Should -BeFalse
            $run.Stopped | Should -BeTrue
            $run.StopSeconds | Should -BeLessThan 5
            $run.State | Should -Be 'Stopped'
            $run.Output.Count | Should -Be 0
            if ($IsLinux) {
                Get-OpenHandleCount -Directory $dir | Should -Be 0
            }
        }

        It 'ends when Select-Object downstream has enough' {
            $recorder = Start-TestRecorder -Directory $dir -Arguments '--events', '20000', '--rate', '2000'
            $run = Invoke-Bounded -TimeoutSeconds 60 -ArgumentList $dir -ScriptBlock {
                param($Directory)
                Get-WalEvent $Directory -Wait -FromEventId 20 | Select-Object -First 4
            }
            $run.EndedByItself | Should -BeTrue
            $run.Output.Id | Should -Be @(20..23)
        }
    }
}
