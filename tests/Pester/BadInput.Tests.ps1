#Requires -Version 7.4
# Pester 5 tests: the bad-input matrix of the cmdlets (issue 7). Each error has a stable
# FullyQualifiedErrorId, a category and a target; a bad item is a non-terminating error and the
# command goes on with the good ones; -ErrorAction Stop stops at the first. Run against the staged
# module (./build.ps1 -Task Pester); FLASHWAL_CLI records the test logs. A read-only or full disk and
# permission denied need mounts or another user: the xunit tests (tests/Unit/Cli, tests/Unit/Hosting) cover them.

BeforeAll {
    . (Join-Path $PSScriptRoot 'FlashWal.TestSupport.ps1') # $modulePath, $cliPath; imports the module
    $PSDefaultParameterValues = @{ 'Start-WalRecorder:SegmentSize' = 1MB }

    # CRC-32C (Castagnoli, reflected), as docs/FORMAT.md specifies for the header CRC.
    function Get-Crc32C {
        param([Parameter(Mandatory)][byte[]]$Bytes)
        [uint32]$crc = [uint32]::MaxValue
        foreach ($b in $Bytes) {
            $crc = $crc -bxor [uint32]$b
            for ($k = 0; $k -lt 8; $k++) {
                $crc = if ($crc -band 1u) { ($crc -shr 1) -bxor 0x82F63B78u } else { $crc -shr 1 }
            }
        }
        [uint32]($crc -bxor [uint32]::MaxValue)
    }

    # Sets the format version (offset 8) of a segment header and recomputes its CRC (offset 124 over [0, 124)),
    # so that only the version is wrong: a file of a newer FlashWal, not a damaged one.
    function Set-SegmentVersion {
        param([Parameter(Mandatory)][string]$Path, [Parameter(Mandatory)][uint16]$Version)
        $bytes = [System.IO.File]::ReadAllBytes($Path)
        [BitConverter]::GetBytes($Version).CopyTo($bytes, 8)
        [BitConverter]::GetBytes((Get-Crc32C -Bytes $bytes[0..123])).CopyTo($bytes, 124)
        [System.IO.File]::WriteAllBytes($Path, $bytes)
    }

    # Every error record the cmdlets wrote in this file: the last Describe checks that each one's id and
    # category are documented in the help of the cmdlet that wrote it.
    $raised = [System.Collections.Generic.List[System.Management.Automation.ErrorRecord]]::new()

    # The errors a command wrote, the command going on after each.
    function Invoke-Collecting {
        param([Parameter(Mandatory)][scriptblock]$ScriptBlock)
        $all = @(& { $ErrorActionPreference = 'Continue'; & $ScriptBlock } 2>&1)
        $errors = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors | Where-Object { $_.InvocationInfo.MyCommand.ModuleName -eq 'FlashWal' } | ForEach-Object { $raised.Add($_) }
        [pscustomobject]@{
            Output = @($all | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] })
            Errors = $errors
        }
    }

    # The SHA-256 of every file below $Directory but the lock protocol's (wal.lock, wal.owner).
    function Get-LogSnapshot {
        param([Parameter(Mandatory)][string]$Directory)
        Get-ChildItem -LiteralPath $Directory -File -Recurse | Where-Object Name -NotIn 'wal.lock', 'wal.owner' |
            ForEach-Object { '{0}={1}' -f $_.FullName, (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash }
    }

    $good = Join-Path $TestDrive 'good'
    New-TestWal -Directory $good -Events 3000
    $goodSegment = (Get-ChildItem -LiteralPath $good -Filter '*.wal' | Sort-Object Name | Select-Object -First 1).FullName
    $missing = Join-Path $TestDrive 'missing'
    $notWal = Join-Path $TestDrive 'notes.wal'
    Set-Content -LiteralPath $notWal -Value 'not a segment'
    $empty = Join-Path $TestDrive 'empty.wal'
    $null = New-Item -ItemType File -Path $empty
    $future = Join-Path $TestDrive 'future.wal'
    Copy-Item -LiteralPath $goodSegment -Destination $future
    Set-SegmentVersion -Path $future -Version 2
    $goodBefore = Get-LogSnapshot -Directory $good
}

AfterAll {
    Get-WalRecorder | Stop-WalRecorder
    Remove-Module -Name FlashWal -ErrorAction SilentlyContinue
}

Describe 'Bad input to the cmdlets that read logs' -Tag 'CI' {
    AfterAll {
        # Nothing a reading cmdlet was given changed the log.
        Get-LogSnapshot -Directory $good | Should -Be $goodBefore
    }

    It 'Test-WalSegment writes one error per missing path and a result for every other one, in order' {
        $r = Invoke-Collecting { Test-WalSegment -LiteralPath $good, $missing, $notWal, $empty, $future, $goodSegment }
        # A file that is not a segment, an empty one, or one of a newer version is not intact: $false, never $true.
        $r.Output | Should -Be @($true, $false, $false, $false, $true)
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'WalPathNotFound,*'
        $r.Errors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ObjectNotFound)
        $r.Errors[0].TargetObject | Should -Be $missing
        $r.Errors[0].Exception.Message | Should -Be "'$missing' does not exist."
    }

    It 'Test-WalSegment -Detailed says why a file is not intact: not a segment, empty, or a newer format version' {
        $reports = @(Test-WalSegment -LiteralPath $notWal, $empty, $future -Detailed)
        $reports.Findings.Code | Should -Be @('NotASegment', 'FileEmpty', 'UnsupportedVersion')
        $reports[2].Findings[0].File | Should -Be $future
        $reports[2].HasErrors | Should -BeTrue
    }

    It 'Get-WalSegment writes an error with its own id for each kind of bad file and lists the good ones' {
        $r = Invoke-Collecting { Get-WalSegment -LiteralPath $missing, $notWal, $good, $empty, $future }
        $r.Output.Count | Should -Be (Get-ChildItem -LiteralPath $good -Filter '*.wal').Count
        $r.Errors.FullyQualifiedErrorId | ForEach-Object { ($_ -split ',')[0] } |
            Should -Be @('WalPathNotFound', 'WalNotASegment', 'WalNotASegment', 'WalFormatVersionUnsupported')
        $r.Errors.TargetObject | Should -Be @($missing, $notWal, $empty, $future)
        $r.Errors[1].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidData)
        $r.Errors[3].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidData)
        $r.Errors[3].Exception.Message | Should -BeLike "'$future' uses FlashWal format version 2; this build reads versions up to 1.*"
        $r.Errors[3].Exception.Version | Should -Be 2
    }

    It 'Get-WalEvent writes WalFormatVersionUnsupported for a newer segment and WalNotASegment for a foreign file, then reads the good one' {
        $r = Invoke-Collecting { Get-WalEvent -LiteralPath $future, $notWal, $goodSegment -First 3 }
        $r.Output.Id | Should -Be @(1, 2, 3)
        $r.Errors.FullyQualifiedErrorId | ForEach-Object { ($_ -split ',')[0] } | Should -Be @('WalFormatVersionUnsupported', 'WalNotASegment')
        $r.Errors.TargetObject | Should -Be @($future, $notWal)
    }

    It 'Invoke-WalRecovery writes an error per bad path and a report for the good one' {
        $r = Invoke-Collecting { Invoke-WalRecovery -LiteralPath $missing, $notWal, $good }
        $r.Output.Count | Should -Be 1
        $r.Output[0].EventsReplayed | Should -Be 3000
        $r.Errors.FullyQualifiedErrorId | ForEach-Object { ($_ -split ',')[0] } | Should -Be @('WalPathNotFound', 'WalNotASegment')
    }

    It 'Repair-WalLog writes WalPathNotADirectory for a file and WalPathNotFound for a missing path, and changes neither' {
        $before = Get-FileHash -LiteralPath $goodSegment
        $r = Invoke-Collecting { Repair-WalLog -LiteralPath $goodSegment, $missing -Force -Confirm:$false }
        $r.Output | Should -BeNullOrEmpty
        $r.Errors.FullyQualifiedErrorId | ForEach-Object { ($_ -split ',')[0] } | Should -Be @('WalPathNotADirectory', 'WalPathNotFound')
        $r.Errors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidArgument)
        $r.Errors[0].TargetObject | Should -Be $goodSegment
        (Get-FileHash -LiteralPath $goodSegment).Hash | Should -Be $before.Hash
        Test-Path -LiteralPath $missing | Should -BeFalse
    }

    It 'Repair-WalLog writes WalDirectoryLocked for a directory a recorder writes, naming the recorder, and changes nothing' {
        $locked = Join-Path $TestDrive 'locked'
        $recorder = Start-WalRecorder $locked -Name 'holder'
        try {
            $r = Invoke-Collecting { Repair-WalLog -LiteralPath $locked -Force -Confirm:$false }
            $r.Errors.Count | Should -Be 1
            $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'WalDirectoryLocked,*'
            $r.Errors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ResourceBusy)
            $r.Errors[0].TargetObject | Should -Be $locked
            $r.Errors[0].Exception.Message | Should -BeLike "*'$locked' is being written by another recorder*"
        }
        finally {
            $recorder | Stop-WalRecorder
        }
    }

    It 'stops at the first bad path with -ErrorAction Stop, after the good ones before it' {
        $seen = [System.Collections.Generic.List[object]]::new()
        $caught = $null
        try {
            Test-WalSegment -LiteralPath $good, $missing, $goodSegment -ErrorAction Stop | ForEach-Object { $seen.Add($_) }
        }
        catch {
            $caught = $_
        }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'WalPathNotFound,*'
        $caught.TargetObject | Should -Be $missing
        @($seen) | Should -Be @($true)
    }
}

Describe 'Bad input to the recorder cmdlets' -Tag 'CI' {
    AfterEach {
        Get-WalRecorder | Stop-WalRecorder
    }

    It 'Start-WalRecorder writes WalPathNotADirectory for a file, or a path below one, naming the file, and starts nothing' {
        $r = Invoke-Collecting { Start-WalRecorder -Path $notWal -Name 'onfile'; Start-WalRecorder -Path (Join-Path $notWal 'wal') -Name 'below' }
        $r.Output | Should -BeNullOrEmpty
        $r.Errors.Count | Should -Be 2
        foreach ($e in $r.Errors) {
            $e.FullyQualifiedErrorId | Should -BeLike 'WalPathNotADirectory,*'
            $e.CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidArgument)
            $e.Exception.Message | Should -Be "'$notWal' is a file; a WAL directory was expected."
        }
        $r.Errors[0].TargetObject | Should -Be $notWal
        Get-WalRecorder | Should -BeNullOrEmpty
        Get-Content -LiteralPath $notWal | Should -Be 'not a segment'
    }

    It 'Start-WalRecorder writes WalRecorderOptionInvalid naming -<Name> out of range, and creates nothing' -ForEach @(
        @{ Option = @{ SegmentSize = 3KB }; Name = 'SegmentSize' }
        @{ Option = @{ BlockSize = 5000 }; Name = 'BlockSize' }
        @{ Option = @{ SyncInterval = [timespan]::Zero }; Name = 'SyncInterval' }
        @{ Option = @{ MaxSegments = 1 }; Name = 'MaxSegments' }
        @{ Option = @{ CompressAfter = -1 }; Name = 'CompressAfter' }
        @{ Option = @{ BackgroundCores = 4096 }; Name = 'BackgroundThreads.Cores' }
        @{ Option = @{ BackgroundNice = 20 }; Name = 'BackgroundThreads.Nice' }
        @{ Option = @{ WriterCore = 4096 }; Name = 'WriterThread.Cores' }
    ) {
        $dir = Join-Path $TestDrive "option-$Name"
        $r = Invoke-Collecting { Start-WalRecorder -Path $dir -Name 'options' @Option }
        $r.Output | Should -BeNullOrEmpty
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'WalRecorderOptionInvalid,*'
        $r.Errors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidArgument)
        $r.Errors[0].TargetObject | Should -Be $dir
        $r.Errors[0].Exception.ParamName | Should -Be $Name
        Test-Path -LiteralPath $dir | Should -BeFalse
        Get-WalRecorder | Should -BeNullOrEmpty
    }

    It 'Start-WalRecorder writes WalDirectoryLocked for a directory another process writes, naming the process' {
        $dir = Join-Path $TestDrive 'child'
        $child = Start-TestRecorder -Directory $dir -Arguments @('--events', '1000000000', '--duration', '60', '--rate', '2000', '--segment-size', '64KiB', '--block-size', '4KiB', '--report-durable')
        try {
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            while (-not (Select-String -LiteralPath "$dir.out.txt" -Pattern '^durable ' -Quiet -ErrorAction SilentlyContinue)) {
                if ($child.HasExited -or $watch.Elapsed.TotalSeconds -gt 60) {
                    throw "the recorder child did not report a durable event: $(Get-Content -LiteralPath "$dir.err.txt" -Raw -ErrorAction SilentlyContinue)"
                }
                Start-Sleep -Milliseconds 50
            }
            $r = Invoke-Collecting { Start-WalRecorder -Path $dir -Name 'second' }
            $r.Output | Should -BeNullOrEmpty
            $r.Errors.Count | Should -Be 1
            $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'WalDirectoryLocked,*'
            $r.Errors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ResourceBusy)
            $r.Errors[0].TargetObject | Should -Be $dir
            $r.Errors[0].Exception.OwnerProcessId | Should -Be $child.Id
            $r.Errors[0].Exception.Message | Should -BeLike "*(process $($child.Id))*"
            Get-WalRecorder | Should -BeNullOrEmpty
        }
        finally {
            Stop-Process -Id $child.Id -Force -ErrorAction SilentlyContinue
            $child.WaitForExit()
        }
        # Killed: everything it committed is there (a torn tail is allowed), and the directory is free.
        Test-WalSegment -LiteralPath $dir | Should -BeTrue
    }

    It 'Write-WalEvent writes WalEventTooLarge and WalEventPayloadUnsupported for those inputs and appends the others' {
        $dir = Join-Path $TestDrive 'payloads'
        $recorder = Start-WalRecorder -Path $dir -Name 'payloads' -BlockSize 4KB
        $tooLarge = [byte[]]::new(5000)
        $r = Invoke-Collecting { 'a', $tooLarge, 'b', [version]'1.2', 'c' | Write-WalEvent -Recorder $recorder -PassThru -Wait Committed }
        $r.Output | Should -Be @(1, 2, 3)
        $r.Errors.FullyQualifiedErrorId | ForEach-Object { ($_ -split ',')[0] } | Should -Be @('WalEventTooLarge', 'WalEventPayloadUnsupported')
        $r.Errors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::LimitsExceeded)
        , $r.Errors[0].TargetObject | Should -Be (, $tooLarge)
        $r.Errors[0].Exception.Message | Should -BeLike "An event payload of 5000 bytes does not fit in a block of '$dir'*"
        $r.Errors[1].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidType)
        $r.Errors[1].TargetObject | Should -Be ([version]'1.2')
        $recorder | Stop-WalRecorder
        (Get-WalEvent -LiteralPath $dir).Text | Should -Be @('a', 'b', 'c')
    }

    It 'Write-WalEvent -ErrorAction Stop stops at the first bad input; what came before it is kept' {
        $dir = Join-Path $TestDrive 'stop'
        $recorder = Start-WalRecorder -Path $dir -Name 'stop'
        $caught = $null
        try {
            'a', 'b', [version]'1.2', 'c' | Write-WalEvent -Recorder $recorder -ErrorAction Stop
        }
        catch {
            $caught = $_
        }
        $caught.FullyQualifiedErrorId | Should -BeLike 'WalEventPayloadUnsupported,*'
        $recorder | Stop-WalRecorder
        (Get-WalEvent -LiteralPath $dir).Text | Should -Be @('a', 'b')
    }

    It 'Write-WalEvent, Get-WalTelemetry and Stop-WalRecorder on a stopped or unknown recorder each say so' {
        $dir = Join-Path $TestDrive 'stopped'
        $recorder = Start-WalRecorder -Path $dir -Name 'stopped'
        'kept' | Write-WalEvent -Recorder $recorder
        $recorder | Stop-WalRecorder

        $write = Invoke-Collecting { 'late' | Write-WalEvent -Recorder $recorder }
        $write.Errors[0].FullyQualifiedErrorId | Should -BeLike 'WalRecorderStopped,*'
        $write.Errors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ResourceUnavailable)
        $write.Errors[0].Exception.Message | Should -Be "The recorder 'stopped' ('$dir') has been stopped; it takes no more events."

        $telemetry = Invoke-Collecting { Get-WalTelemetry -Recorder $recorder }
        $telemetry.Errors[0].FullyQualifiedErrorId | Should -BeLike 'WalRecorderStopped,*'

        # Stopping again: by the object, nothing to do (verbose); by name, it is no longer running.
        $again = Invoke-Collecting { $recorder | Stop-WalRecorder }
        $again.Errors | Should -BeNullOrEmpty

        # A newer recorder under the same name is not stopped by the old object (the object was bound by its Name, and it was).
        $newer = Start-WalRecorder -Path (Join-Path $TestDrive 'newer') -Name 'stopped'
        $recorder | Stop-WalRecorder
        $newer.State | Should -Be 'Running'
        $newer | Stop-WalRecorder
        $newer.State | Should -Be 'Stopped'
        $byName = Invoke-Collecting { Stop-WalRecorder -Name 'stopped' }
        $byName.Errors[0].FullyQualifiedErrorId | Should -BeLike 'WalRecorderNotFound,*'
        $byName.Errors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ObjectNotFound)
        $byName.Errors[0].TargetObject | Should -Be 'stopped'

        # An unknown name stops Write-WalEvent before any input: nothing could be written.
        { 'x' | Write-WalEvent -Name 'nobody' -ErrorAction Stop } | Should -Throw -ErrorId 'WalRecorderNotFound,FlashWal.PowerShell.Cmdlets.WriteWalEventCommand'
        (Get-WalEvent -LiteralPath $dir).Text | Should -Be @('kept')
    }
}

Describe 'The error ids the bad input above raised' -Tag 'CI' {
    It 'are each named in the help of the cmdlet that wrote them, with the category the error carries' {
        $raised.Count | Should -BeGreaterThan 10 -Because 'the tests above collect the errors of every cmdlet they feed bad input'
        $undocumented = foreach ($record in $raised) {
            $id = ($record.FullyQualifiedErrorId -split ',')[0]
            $command = $record.InvocationInfo.MyCommand.Name
            $help = (Get-Help -Name $command -Full).description.Text -join ' '
            # "WalPathNotFound (ObjectNotFound)", "(ObjectNotFound, non-terminating)", "A and B (InvalidData)".
            if ($help -notmatch "\b$id(?: and Wal[A-Za-z]+)? \($($record.CategoryInfo.Category)[,:)]") {
                "$command wrote $id ($($record.CategoryInfo.Category)), which its help does not name with that category"
            }
        }
        @($undocumented | Select-Object -Unique) | Should -BeNullOrEmpty
    }
}
