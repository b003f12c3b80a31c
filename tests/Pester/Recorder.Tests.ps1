#Requires -Version 7.4
# Pester 5 tests for the recorder cmdlets (Start-WalRecorder, Write-WalEvent, Get-WalRecorder,
# Stop-WalRecorder, Get-WalTelemetry, Wait-WalRecorder), run against the staged module
# (./build.ps1 -Task Pester). FLASHWAL_MODULE: the module manifest; FLASHWAL_CLI: flashwal.dll, whose
# dump command reads back what the cmdlets wrote. Every wait is bounded.

BeforeAll {
    . (Join-Path $PSScriptRoot 'FlashWal.TestSupport.ps1') # $modulePath, $cliPath, $pwshPath; imports the module

    # 1MB segments unless a test says otherwise: 64MB ones, four of them prepared ahead, only cost disk here.
    $PSDefaultParameterValues = @{ 'Start-WalRecorder:SegmentSize' = 1MB }

    # A log a recorder closed (stopped, not killed): every segment closed, no prepared segment left over.
    function Assert-ClosedLog {
        param([Parameter(Mandatory)][string]$Directory, [Parameter(Mandatory)][long]$Events)
        $report = Test-WalSegment $Directory -Detailed
        $report.IsIntact | Should -BeTrue
        $report.HasTornTail | Should -BeFalse
        $report.Events | Should -Be $Events
        # A killed recorder leaves the last segment Open and its prepared segments Empty.
        $report.Segments.State | Should -Not -Contain ([FlashWal.Inspection.SegmentState]::Open)
        $report.Segments.State | Should -Not -Contain ([FlashWal.Inspection.SegmentState]::Empty)
    }

    # The events of a WAL directory as flashwal dump --json reads them (id, type, length, hex, text).
    function Get-DumpedEvent {
        param([Parameter(Mandatory)][string]$Directory)
        $lines = & dotnet $cliPath dump $Directory --json 2>&1
        if ($LASTEXITCODE -ne 0) {
            throw "flashwal dump '$Directory' failed with exit code ${LASTEXITCODE}: $lines"
        }
        $lines | ForEach-Object { $_ | ConvertFrom-Json }
    }

    # Runs a script in a child pwsh (the staged module imported first) and waits at most $Seconds.
    function Invoke-ChildPwsh {
        param([Parameter(Mandatory)][string]$Script, [int]$Seconds = 120)
        $full = "`$ErrorActionPreference = 'Stop'; Import-Module -Name '$modulePath'; $Script"
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($full))
        $process = Start-Process -FilePath $pwshPath -ArgumentList '-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded -PassThru `
            -RedirectStandardOutput (Join-Path $TestDrive "child-$([guid]::NewGuid()).out") -RedirectStandardError (Join-Path $TestDrive "child-$([guid]::NewGuid()).err")
        if (-not $process.WaitForExit($Seconds * 1000)) {
            $process.Kill()
            throw "the child pwsh did not exit within $Seconds s"
        }
        $process.ExitCode
    }
}

AfterAll {
    Get-WalRecorder -ErrorAction SilentlyContinue | Stop-WalRecorder -ErrorAction SilentlyContinue
    Remove-Module -Name FlashWal -ErrorAction SilentlyContinue
}

Describe 'Recorder cmdlets' -Tag 'CI' {
    AfterEach {
        # Each test leaves no recorder behind, whatever it did.
        Get-WalRecorder | Stop-WalRecorder
    }

    It 'exports <_> from the FlashWal module' -ForEach 'Start-WalRecorder', 'Write-WalEvent', 'Get-WalRecorder', 'Stop-WalRecorder', 'Get-WalTelemetry', 'Wait-WalRecorder' {
        $command = Get-Command -Name $_
        $command.ModuleName | Should -Be 'FlashWal'
        $command.CommandType | Should -Be 'Cmdlet'
    }

    Context 'the job: start a recorder, pipe events, stop it, verify the log' {
        It 'records 10,000 piped events that all verify, in order, with nothing torn' {
            $dir = Join-Path $TestDrive 'job'
            $recorder = Start-WalRecorder $dir -Name job
            $recorder | Should -BeOfType ([FlashWal.Hosting.NamedRecorder])
            $recorder.Name | Should -Be 'job'
            $recorder.Path | Should -Be $dir
            $recorder.State | Should -Be 'Running'

            $output = 1..10000 | Write-WalEvent -Name job
            @($output).Count | Should -Be 0

            $final = Stop-WalRecorder job -PassThru
            $final | Should -Be $recorder
            $final.State | Should -Be 'Stopped'
            $final.Events | Should -Be 10000
            $final.LastEventId | Should -Be 10000
            $final.CommittedEventId | Should -Be 10000
            $final.DurableEventId | Should -Be 10000
            $final.FailedEvents | Should -Be 0
            @(Get-WalRecorder).Count | Should -Be 0

            Test-WalSegment $dir | Should -BeTrue
            Assert-ClosedLog $dir -Events 10000
            $final.Segments | Should -Be (Test-WalSegment $dir -Detailed).Segments.Count

            $events = @(Get-DumpedEvent $dir)
            $events.Count | Should -Be 10000
            $events[0].text | Should -Be '1'
            $events[-1].text | Should -Be '10000'
            ($events | ForEach-Object id) -join ',' | Should -Be ((1..10000) -join ',')
        }

        It 'runs the issue''s session as written, 100,000 events without a flush or a wait per event' {
            $moduleDirectory = Split-Path -Parent $modulePath
            $workDir = Join-Path $TestDrive 'session'
            New-Item -ItemType Directory -Path $workDir | Out-Null
            $script = @"
Set-Location -LiteralPath '$workDir'
`$elapsed = Measure-Command { Import-Module '$moduleDirectory'; Start-WalRecorder ./wal -Name demo; 1..100000 | Write-WalEvent -Name demo; Stop-WalRecorder demo }
Test-WalSegment ./wal
`$elapsed.TotalSeconds
"@
            $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script))
            $output = & $pwshPath -NoProfile -NonInteractive -OutputFormat Text -EncodedCommand $encoded 2>&1
            $LASTEXITCODE | Should -Be 0
            $lines = @($output | ForEach-Object { "$_".Trim() } | Where-Object { $_ })
            $lines | Should -Contain 'True'
            $seconds = [double]::Parse($lines[-1], [Globalization.CultureInfo]::InvariantCulture)
            Write-Host "    100,000 events through Write-WalEvent, start to stop: $([math]::Round($seconds, 2)) s"
            # A flush per event would take minutes; a PowerShell pipeline takes a few microseconds an event.
            $seconds | Should -BeLessThan 60
            (Test-WalSegment (Join-Path $workDir 'wal') -Detailed).Events | Should -Be 100000
        }
    }

    Context 'Start-WalRecorder' {
        It 'names a recorder after its directory when -Name is not given' {
            $recorder = Start-WalRecorder -Path (Join-Path $TestDrive 'named-after-me')
            $recorder.Name | Should -Be 'named-after-me'
        }

        It 'resolves a relative path against the current PowerShell location' {
            Push-Location -LiteralPath $TestDrive
            try {
                $recorder = Start-WalRecorder 'relative' 'rel'
                $recorder.Path | Should -Be (Join-Path $TestDrive 'relative')
            }
            finally {
                Pop-Location
            }
        }

        It 'takes its options and continues an existing log in a new segment' {
            $dir = Join-Path $TestDrive 'options'
            $recorder = Start-WalRecorder $dir -Name opt -SegmentSize 64KB -BlockSize 4KB -Durability EveryCommit -SyncInterval 0:0:0.005 -MaxSegments 100 -CompressAfter 1
            $recorder.Options.Recorder.SegmentSize | Should -Be 65536
            $recorder.Options.Recorder.BlockSize | Should -Be 4096
            $recorder.Durability | Should -Be 'EveryCommit'
            $recorder.Options.Recorder.SyncInterval | Should -Be ([TimeSpan]::FromMilliseconds(5))
            $recorder.Options.Recorder.Retention.MaxSegments | Should -Be 100
            $recorder.Options.Recorder.Retention.CompressAfter | Should -Be 1
            1..3000 | Write-WalEvent -Name opt
            Stop-WalRecorder opt

            $again = Start-WalRecorder $dir -Name opt
            $again.FirstEventId | Should -Be 3001
            'one more' | Write-WalEvent -Name opt
            Stop-WalRecorder opt
            $report = Test-WalSegment $dir -Detailed
            $report.IsIntact | Should -BeTrue
            $report.LastEventId | Should -Be 3001
        }

        It 'starts the recorders that piped objects describe by property name' {
            $PSDefaultParameterValues = @{} # a default would win over the piped SegmentSize
            $rows = @(
                [pscustomobject]@{ Path = (Join-Path $TestDrive 'csv-a'); Name = 'csv-a'; Durability = 'None'; SegmentSize = 1MB }
                [pscustomobject]@{ Path = (Join-Path $TestDrive 'csv-b'); Name = 'csv-b'; SegmentSize = '128KB' }
            )
            $recorders = @($rows | Start-WalRecorder)
            $recorders.Name | Should -Be 'csv-a', 'csv-b'
            $recorders[0].Durability | Should -Be 'None'
            $recorders[1].Options.Recorder.SegmentSize | Should -Be 131072
        }

        It 'creates nothing with -WhatIf' {
            $dir = Join-Path $TestDrive 'whatif-start'
            $result = Start-WalRecorder $dir -Name whatif -WhatIf
            @($result).Count | Should -Be 0
            Test-Path -LiteralPath $dir | Should -BeFalse
            Get-WalRecorder whatif -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }

        It 'refuses a second recorder on the same directory with WalDirectoryLocked, naming the first' {
            $dir = Join-Path $TestDrive 'locked'
            $first = Start-WalRecorder $dir -Name first
            $result = Start-WalRecorder $dir -Name second -ErrorVariable errs -ErrorAction SilentlyContinue
            @($result).Count | Should -Be 0
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -Be 'WalDirectoryLocked,FlashWal.PowerShell.Cmdlets.StartWalRecorderCommand'
            $errs[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
            $errs[0].Exception.Message | Should -BeLike "*'first'*"
            $first.State | Should -Be 'Running'
            (Get-WalRecorder).Name | Should -Be 'first'
        }

        It 'refuses a duplicate name with WalRecorderNameInUse and creates nothing for it' {
            Start-WalRecorder (Join-Path $TestDrive 'dup-a') -Name dup | Out-Null
            $other = Join-Path $TestDrive 'dup-b'
            { Start-WalRecorder $other -Name DUP -ErrorAction Stop } | Should -Throw -ErrorId 'WalRecorderNameInUse,*'
            Start-WalRecorder $other -Name dup -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs[0].CategoryInfo.Category | Should -Be 'ResourceExists'
            Test-Path -LiteralPath $other | Should -BeFalse
        }

        It 'refuses a name with wildcard characters with WalRecorderNameInvalid' {
            { Start-WalRecorder (Join-Path $TestDrive 'bad-name') -Name 'a*' -ErrorAction Stop } | Should -Throw -ErrorId 'WalRecorderNameInvalid,*'
        }

        It 'places the writer and the background threads where -WriterCore, -BackgroundCores and -BackgroundNice say' {
            $cores = [FlashWal.Threading.ThreadPlacement]::AllowedCores()
            $dir = Join-Path $TestDrive 'placed'
            Start-WalRecorder $dir -Name placed -WriterCore $cores[-1] -BackgroundCores $cores[0] -BackgroundNice 5 | Out-Null
            1..100 | Write-WalEvent -Name placed -Wait Committed | Out-Null
            (Get-WalTelemetry -Name placed).BackgroundPlacement | Should -Be "cores $($cores[0]), nice 5"
            # The kernel keeps 15 characters of a thread's name: every recorder's writer is 'FlashWal writer'.
            $pinned = @(Get-ChildItem /proc/self/task | Where-Object {
                    (Get-Content -Raw (Join-Path $_.FullName comm)) -like 'FlashWal writer*' -and
                    ((Get-Content (Join-Path $_.FullName status) | Where-Object { $_ -like 'Cpus_allowed_list:*' }) -replace '^Cpus_allowed_list:\s*', '') -eq "$($cores[-1])"
                })
            $pinned.Count | Should -BeGreaterOrEqual 1
            Stop-WalRecorder -Name placed
            Test-WalSegment $dir | Should -BeTrue
        }

        It 'refuses an option out of range with WalRecorderOptionInvalid, naming it' {
            $dir = Join-Path $TestDrive 'bad-option'
            Start-WalRecorder $dir -Name bad -BlockSize 1000 -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalRecorderOptionInvalid,*'
            $errs[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $errs[0].Exception.Message | Should -BeLike '*BlockSize*'
            Test-Path -LiteralPath $dir | Should -BeFalse
        }
    }

    Context 'Write-WalEvent' {
        BeforeEach {
            $dir = Join-Path $TestDrive "write-$([guid]::NewGuid().ToString('n'))"
            $recorder = Start-WalRecorder $dir -Name w
        }

        It 'writes bytes as they are, strings as UTF-8, numbers as their text and objects as JSON' {
            'hello', '', 'Zürich' | Write-WalEvent -Name w -Type 11
            , [byte[]](0, 1, 2, 255) | Write-WalEvent -Name w -Type 12
            Write-WalEvent -InputObject ([byte[]](7, 8)) -Name w
            42, 1.5, $true | Write-WalEvent -Name w
            [pscustomobject]@{ Side = 'Buy'; Qty = 10 } | Write-WalEvent -Name w -AsJson -Type 13
            Stop-WalRecorder w
            $events = @(Get-DumpedEvent $dir)
            $events.Count | Should -Be 9
            $events[0].text | Should -Be 'hello'
            $events[0].type | Should -Be 11
            $events[1].length | Should -Be 0
            $events[2].hex | Should -Be '5a c3bc 72696368'.Replace(' ', '')
            $events[3].hex | Should -Be '000102ff'
            $events[3].type | Should -Be 12
            $events[4].hex | Should -Be '0708'
            $events[5..7].text | Should -Be '42', '1.5', 'True'
            $events[8].text | Should -Be '{"Side":"Buy","Qty":10}'
            $events[8].type | Should -Be 13
        }

        It 'outputs consecutive ids with -PassThru, in input order' {
            $ids = @(1..500 | Write-WalEvent -Name w -PassThru)
            $ids.Count | Should -Be 500
            $ids[0] | Should -BeOfType ([long])
            $ids -join ',' | Should -Be ((1..500) -join ',')
        }

        It 'returns with -Wait Durable only once every event it wrote is durable, even under Durability None' -ForEach @(
            @{ Durability = 'Interval' }, @{ Durability = 'None' }, @{ Durability = 'EveryCommit' }
        ) {
            Stop-WalRecorder w
            $r = Start-WalRecorder (Join-Path $TestDrive "durable-$Durability") -Name d -Durability $Durability -SyncInterval 0:0:0.2
            1..2000 | Write-WalEvent -Name d -Wait Durable -Timeout 60
            $r.DurableEventId | Should -Be 2000
            $r.LastEventId | Should -Be 2000
        }

        It 'reports each id with -Wait Committed -PassThru once it is committed' {
            $ids = @(1..300 | Write-WalEvent -Recorder $recorder -Wait Committed -PassThru -Timeout 60)
            $ids.Count | Should -Be 300
            $recorder.CommittedEventId | Should -BeGreaterOrEqual $ids[-1]
        }

        It 'writes a non-terminating WalEventPayloadUnsupported error for an object without -AsJson and goes on' {
            $ids = @('a', @{ a = 1 }, 'b' | Write-WalEvent -Name w -PassThru -ErrorVariable errs -ErrorAction SilentlyContinue)
            $ids -join ',' | Should -Be '1,2'
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -Be 'WalEventPayloadUnsupported,FlashWal.PowerShell.Cmdlets.WriteWalEventCommand'
            $errs[0].CategoryInfo.Category | Should -Be 'InvalidType'
            $errs[0].TargetObject | Should -BeOfType ([hashtable])
        }

        It 'refuses with WalEventJsonTruncated an object deeper than -Depth instead of cutting it' {
            $deep = [pscustomobject]@{ a = @{ b = @{ c = @{ d = 1 } } } }
            $deep | Write-WalEvent -Name w -AsJson -ErrorVariable errs -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalEventJsonTruncated,*'
            $deep | Write-WalEvent -Name w -AsJson -Depth 5 -PassThru | Should -Be 1
        }

        It 'refuses an event larger than a block with WalEventTooLarge' {
            Stop-WalRecorder w
            Start-WalRecorder (Join-Path $TestDrive 'small-blocks') -Name small -BlockSize 4KB | Out-Null
            , [byte[]]::new(8192) | Write-WalEvent -Name small -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalEventTooLarge,*'
            $errs[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        }

        It 'stops a script with a terminating WalRecorderNotFound error for an unknown -Name' {
            { 'x' | Write-WalEvent -Name nope } | Should -Throw -ErrorId 'WalRecorderNotFound,FlashWal.PowerShell.Cmdlets.WriteWalEventCommand'
        }

        It 'writes WalRecorderStopped for each event offered to a stopped recorder object' {
            Stop-WalRecorder w
            'a', 'b' | Write-WalEvent -Recorder $recorder -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs.Count | Should -Be 2
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalRecorderStopped,*'
            $errs[0].CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        }

        It 'writes nothing with -WhatIf' {
            1..10 | Write-WalEvent -Name w -WhatIf
            (Stop-WalRecorder w -PassThru).Events | Should -Be 0
        }

        It 'writes a WalWaitTimeout error when -Wait Durable does not get there within -Timeout' {
            Stop-WalRecorder w
            $slow = Start-WalRecorder (Join-Path $TestDrive 'slow') -Name slow -SyncInterval 1:0:0
            $clock = [Diagnostics.Stopwatch]::StartNew()
            1..10 | Write-WalEvent -Name slow -Wait Durable -Timeout 1 -ErrorVariable errs -ErrorAction SilentlyContinue
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 30
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalWaitTimeout,*'
            $errs[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
            # The events stay queued: stopping writes them.
            (Stop-WalRecorder slow -PassThru).Events | Should -Be 10
        }

        It 'is cancelled by a pipeline stop (Ctrl+C) while it waits' {
            Stop-WalRecorder w
            Start-WalRecorder (Join-Path $TestDrive 'cancel-write') -Name cw -SyncInterval 1:0:0 | Out-Null
            $ps = [powershell]::Create()
            try {
                $null = $ps.AddScript("Import-Module -Name '$modulePath'; 1..10 | Write-WalEvent -Name cw -Wait Durable")
                $handle = $ps.BeginInvoke()
                $deadline = [DateTime]::UtcNow.AddSeconds(30)
                while ((Get-WalRecorder cw).Events -lt 10 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
                $handle.IsCompleted | Should -BeFalse
                $clock = [Diagnostics.Stopwatch]::StartNew()
                $stop = $ps.BeginStop($null, $null)
                $stop.AsyncWaitHandle.WaitOne(30000) | Should -BeTrue
                $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
                $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            }
            finally {
                $ps.Dispose()
            }
        }
    }

    Context 'Get-WalRecorder' {
        BeforeEach {
            foreach ($name in 'orders-eu', 'orders-us', 'quotes') {
                Start-WalRecorder (Join-Path $TestDrive "get-$name-$([guid]::NewGuid().ToString('n'))") -Name $name | Out-Null
            }
        }

        It 'lists every running recorder by name' {
            (Get-WalRecorder).Name | Should -Be 'orders-eu', 'orders-us', 'quotes'
        }

        It 'matches wildcards, and a wildcard that matches nothing is no error' {
            (Get-WalRecorder 'orders-*').Name | Should -Be 'orders-eu', 'orders-us'
            (Get-WalRecorder 'ORDERS-[e]?').Name | Should -Be 'orders-eu'
            $none = Get-WalRecorder 'nothing-*' -ErrorVariable errs
            $none | Should -BeNullOrEmpty
            $errs.Count | Should -Be 0
        }

        It 'writes a non-terminating WalRecorderNotFound error for an unknown name and goes on' {
            $found = @(Get-WalRecorder 'missing', 'quotes' -ErrorVariable errs -ErrorAction SilentlyContinue)
            $found.Name | Should -Be 'quotes'
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -Be 'WalRecorderNotFound,FlashWal.PowerShell.Cmdlets.GetWalRecorderCommand'
            $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $errs[0].TargetObject | Should -Be 'missing'
        }

        It 'stops a script on a malformed pattern with WalRecorderNamePatternInvalid' {
            { Get-WalRecorder 'orders-[' } | Should -Throw -ErrorId 'WalRecorderNamePatternInvalid,*'
        }

        It 'takes names from the pipeline by value and by property name' {
            ('quotes' | Get-WalRecorder).Name | Should -Be 'quotes'
            ([pscustomobject]@{ Name = 'orders-us' } | Get-WalRecorder).Name | Should -Be 'orders-us'
        }

        It 'returns a live object whose statistics follow the recorder' {
            $r = Get-WalRecorder quotes
            $r.Events | Should -Be 0
            1..100 | Write-WalEvent -Name quotes
            Wait-WalRecorder quotes -Timeout 30
            $r.Events | Should -Be 100
            $r.DurableEventId | Should -Be 100
            $r.Segments | Should -Be 1
        }

        It 'shows recorders in a table with their watermarks' {
            $table = Get-WalRecorder quotes | Out-String -Width 200
            $table | Should -Match 'Name\s+State\s+Events\s+Committed\s+Durable\s+Replicated\s+Segments\s+Path'
            $table | Should -Match 'quotes\s+Running\s+0\s+0\s+0\s+-\s+1\s' # not replicated: '-'
        }
    }

    Context 'Get-WalTelemetry' {
        It 'takes a snapshot of a running recorder''s measurements, by name or piped' {
            $r = Start-WalRecorder (Join-Path $TestDrive 'telemetry') -Name tel -SegmentSize 64KB -BlockSize 4KB
            1..5000 | Write-WalEvent -Name tel
            Wait-WalRecorder tel -Timeout 30
            $snapshot = Get-WalTelemetry tel
            $snapshot | Should -BeOfType ([FlashWal.Telemetry.RecorderTelemetrySnapshot])
            $snapshot.Name | Should -Be 'tel'
            $snapshot.LastEventId | Should -Be 5000
            $snapshot.DurableLag | Should -Be 0
            $snapshot.Rotations | Should -BeGreaterThan 0
            $snapshot.PreparerMisses | Should -BeGreaterOrEqual 0
            $snapshot.Append.Count | Should -Be 5000
            $snapshot.Append.P99 | Should -BeGreaterThan 0
            ($r | Get-WalTelemetry).Name | Should -Be 'tel'
            Get-WalTelemetry tel | Out-String -Width 250 | Should -Match 'AppendP99us'
        }

        It 'writes WalRecorderNotFound for an unknown name and WalRecorderStopped for a stopped recorder' {
            Get-WalTelemetry nope -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalRecorderNotFound,*'
            $r = Start-WalRecorder (Join-Path $TestDrive 'telemetry-stopped') -Name ts
            Stop-WalRecorder ts
            $r | Get-WalTelemetry -ErrorVariable errs2 -ErrorAction SilentlyContinue
            $errs2[0].FullyQualifiedErrorId | Should -BeLike 'WalRecorderStopped,*'
        }
    }

    Context 'Wait-WalRecorder' {
        It 'waits until everything written is durable, under every durability policy' -ForEach @(
            @{ Durability = 'None' }, @{ Durability = 'Interval' }
        ) {
            $r = Start-WalRecorder (Join-Path $TestDrive "wait-$Durability") -Name wt -Durability $Durability
            1..20000 | Write-WalEvent -Name wt
            $out = Wait-WalRecorder wt -Timeout 60 -PassThru
            $out | Should -Be $r
            $r.DurableEventId | Should -Be 20000
        }

        It 'waits for an event id, and writes WalWaitTimeout when it does not come in time' {
            $r = Start-WalRecorder (Join-Path $TestDrive 'wait-id') -Name wid
            1..50 | Write-WalEvent -Name wid
            Wait-WalRecorder -Name wid -EventId 50 -Timeout 30
            $r.DurableEventId | Should -BeGreaterOrEqual 50
            $clock = [Diagnostics.Stopwatch]::StartNew()
            Wait-WalRecorder -Name wid -EventId 1000000 -Timeout 1 -ErrorVariable errs -ErrorAction SilentlyContinue
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 30
            $errs[0].FullyQualifiedErrorId | Should -Be 'WalWaitTimeout,FlashWal.PowerShell.Cmdlets.WaitWalRecorderCommand'
            $errs[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        }

        It 'is cancelled by a pipeline stop (Ctrl+C)' {
            Start-WalRecorder (Join-Path $TestDrive 'wait-cancel') -Name wc | Out-Null
            $ps = [powershell]::Create()
            try {
                $null = $ps.AddScript("Import-Module -Name '$modulePath'; Wait-WalRecorder -Name wc -EventId 1000000")
                $handle = $ps.BeginInvoke()
                Start-Sleep -Milliseconds 500
                $handle.IsCompleted | Should -BeFalse
                $stop = $ps.BeginStop($null, $null)
                $stop.AsyncWaitHandle.WaitOne(30000) | Should -BeTrue
                $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            }
            finally {
                $ps.Dispose()
            }
        }
    }

    Context 'Stop-WalRecorder' {
        It 'leaves the recorder running with -WhatIf' {
            $r = Start-WalRecorder (Join-Path $TestDrive 'whatif-stop') -Name ws
            Stop-WalRecorder ws -WhatIf
            $r.State | Should -Be 'Running'
            (Get-WalRecorder ws).State | Should -Be 'Running'
        }

        It 'stops piped recorder objects and wildcard names, and frees their names' {
            foreach ($name in 'a1', 'a2', 'b1') {
                Start-WalRecorder (Join-Path $TestDrive "stop-$name") -Name $name | Out-Null
            }
            Stop-WalRecorder 'a*'
            (Get-WalRecorder).Name | Should -Be 'b1'
            $stopped = Get-WalRecorder | Stop-WalRecorder -PassThru
            $stopped.Name | Should -Be 'b1'
            $stopped.State | Should -Be 'Stopped'
            Get-WalRecorder | Should -BeNullOrEmpty
            (Start-WalRecorder (Join-Path $TestDrive 'stop-a1') -Name a1).FirstEventId | Should -Be 1
        }

        It 'takes names from the pipeline and writes WalRecorderNotFound for an unknown one' {
            Start-WalRecorder (Join-Path $TestDrive 'stop-by-name') -Name sbn | Out-Null
            'sbn', 'nope' | Stop-WalRecorder -ErrorVariable errs -ErrorAction SilentlyContinue
            Get-WalRecorder | Should -BeNullOrEmpty
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -Be 'WalRecorderNotFound,FlashWal.PowerShell.Cmdlets.StopWalRecorderCommand'
        }
    }

    Context 'recorders left running' {
        It 'are stopped when the module is removed: the log verifies with no torn tail and opens again' {
            $dir = Join-Path $TestDrive 'removed'
            $r = Start-WalRecorder $dir -Name removed -SyncInterval 1:0:0
            1..5000 | Write-WalEvent -Name removed
            Remove-Module -Name FlashWal
            try {
                $r.State | Should -Be 'Stopped'
                $r.Events | Should -Be 5000
            }
            finally {
                Import-Module -Name $modulePath
            }
            Assert-ClosedLog $dir -Events 5000
            (Start-WalRecorder $dir -Name removed).FirstEventId | Should -Be 5001
        }

        It 'are stopped when the PowerShell process exits: every event is there' {
            $dir = Join-Path $TestDrive 'exited'
            Invoke-ChildPwsh "Start-WalRecorder '$dir' -Name child -SyncInterval 1:0:0 | Out-Null; 1..20000 | Write-WalEvent -Name child; exit 3" | Should -Be 3
            Assert-ClosedLog $dir -Events 20000
            (Start-WalRecorder $dir -Name exited).FirstEventId | Should -Be 20001
        }

        It 'are stopped when the PowerShell process gets SIGTERM' -Skip:(-not ($IsLinux -or $IsMacOS)) {
            $dir = Join-Path $TestDrive 'terminated'
            $ready = Join-Path $TestDrive 'terminated.ready'
            $script = "Start-WalRecorder '$dir' -Name term -SyncInterval 1:0:0 | Out-Null; 1..20000 | Write-WalEvent -Name term; New-Item -ItemType File -Path '$ready' | Out-Null; Start-Sleep -Seconds 120"
            $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes("Import-Module -Name '$modulePath'; $script"))
            $child = Start-Process -FilePath $pwshPath -ArgumentList '-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded -PassThru
            try {
                $deadline = [DateTime]::UtcNow.AddSeconds(60)
                while (-not (Test-Path -LiteralPath $ready) -and -not $child.HasExited -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
                Test-Path -LiteralPath $ready | Should -BeTrue
                & kill -TERM $child.Id
                $child.WaitForExit(60000) | Should -BeTrue
            }
            finally {
                if (-not $child.HasExited) { $child.Kill() }
            }
            Assert-ClosedLog $dir -Events 20000
        }
    }
}
