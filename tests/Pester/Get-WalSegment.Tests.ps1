#Requires -Version 7.4
# Pester 5 tests for Get-WalSegment, run against the staged module (./build.ps1 -Task Pester).

BeforeAll {
    . (Join-Path $PSScriptRoot 'FlashWal.TestSupport.ps1')
}

AfterAll {
    Remove-Module -Name FlashWal -ErrorAction SilentlyContinue
}

Describe 'Get-WalSegment' -Tag 'CI' {
    It 'is exported by the FlashWal module and declares what it writes' {
        $command = Get-Command -Name Get-WalSegment
        $command.ModuleName | Should -Be 'FlashWal'
        $command.CommandType | Should -Be 'Cmdlet'
        $command.OutputType.Type | Should -Be ([FlashWal.Inspection.SegmentInfo])
    }

    Context 'a log of three segments' {
        BeforeAll {
            # 8000 events of 64 bytes in 256 KiB segments: 2928 fill each of the first two.
            $dir = Join-Path $TestDrive 'wal'
            New-TestWal -Directory $dir -Events 8000
            $files = @(Get-ChildItem -LiteralPath $dir -Filter '*.wal' | Sort-Object -Property Name)
        }

        It 'writes one segment per file piped from Get-ChildItem *.wal, with their exact id ranges' {
            $segments = @(Get-ChildItem -Path (Join-Path $dir '*.wal') | Get-WalSegment)
            $segments.Count | Should -Be 3
            $segments | ForEach-Object { $_ | Should -BeOfType ([FlashWal.Inspection.SegmentInfo]) }
            $segments.Path | Should -Be $files.FullName
            $segments.Index | Should -Be @(0, 1, 2)
            $segments.State | Should -Be @('Closed', 'Closed', 'Closed')
            $segments[0].FirstEventId | Should -Be 1
            $segments[0].LastEventId | Should -Be 2928
            $segments[1].FirstEventId | Should -Be 2929
            $segments[2].FirstEventId | Should -Be ($segments[1].LastEventId + 1)
            $segments[2].LastEventId | Should -Be 8000
            ($segments.Events | Measure-Object -Sum).Sum | Should -Be 8000
            $segments | ForEach-Object { $_.Blocks | Should -BeGreaterThan 0 }
            $segments | ForEach-Object { $_.Capacity | Should -Be 256KB }
            @($segments.LogId | Select-Object -Unique).Count | Should -Be 1
        }

        It 'writes the same segments for the directory, in index order' {
            $fromFiles = @(Get-ChildItem -LiteralPath $dir -Filter '*.wal' | Get-WalSegment)
            $fromDirectory = @(Get-WalSegment $dir)
            $fromDirectory.Count | Should -Be 3
            for ($i = 0; $i -lt 3; $i++) {
                $fromDirectory[$i] | Should -Be $fromFiles[$i] # SegmentInfo is a record: equal field by field
            }
        }

        It 'agrees with Test-WalSegment, which verifies every byte, and with flashwal inspect' {
            $segments = @(Get-WalSegment $dir)
            $segments | Should -Be @((Test-WalSegment $dir -Detailed).Segments)
            $inspected = & dotnet $cliPath inspect $dir --json | ConvertFrom-Json
            $segments.Index | Should -Be $inspected.index
            $segments.FirstEventId | Should -Be $inspected.firstEventId
            $segments.LastEventId | Should -Be $inspected.lastEventId
            $segments.Events | Should -Be $inspected.events
            $segments.Blocks | Should -Be $inspected.blocks
        }

        It 'takes the directory from Get-Item, a wildcard, a relative path, or the pipeline by value' {
            @(Get-Item -LiteralPath $dir | Get-WalSegment).Count | Should -Be 3
            @(Get-WalSegment -Path (Join-Path $dir '0*1.wal')).Index | Should -Be @(1)
            @($dir, $files[2].FullName | Get-WalSegment).Index | Should -Be @(0, 1, 2, 2)
            Push-Location -LiteralPath $TestDrive
            try {
                @(Get-WalSegment 'wal').Count | Should -Be 3
            }
            finally {
                Pop-Location
            }
        }
    }

    Context 'a log with compressed segments' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'compressed'
            New-TestWal -Directory $dir -Events 12000 -Arguments '--compress-after', '1'
            $packed = @(Get-ChildItem -LiteralPath $dir -Filter '*.walz' | Sort-Object -Property Name)
        }

        It 'describes .walz files like plain ones, and their events read the same' {
            $packed.Count | Should -BeGreaterThan 0
            $segments = @(Get-ChildItem -Path (Join-Path $dir '*.wal*') | Get-WalSegment)
            $segments.Path | Should -Contain $packed[0].FullName
            $segments.State | Select-Object -Unique | Should -Be 'Closed'
            $segments[0].FirstEventId | Should -Be 1
            $segments[-1].LastEventId | Should -Be 12000
            ($segments.Events | Measure-Object -Sum).Sum | Should -Be 12000
            for ($i = 1; $i -lt $segments.Count; $i++) {
                $segments[$i].FirstEventId | Should -Be ($segments[$i - 1].LastEventId + 1)
            }
            $first = Get-WalSegment -LiteralPath $packed[0].FullName
            @(Get-WalEvent -LiteralPath $packed[0].FullName -FromEventId $first.LastEventId).Id | Should -Be @($first.LastEventId)
        }
    }

    Context 'a log with a missing segment' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'gap'
            New-TestWal -Directory $dir -Events 8000
            $missing = Join-Path $dir '0000000000000001.wal'
            Remove-Item -LiteralPath $missing
        }

        It 'lists the segments that are there and says what is missing as a verbose message' {
            $verbose = @(Get-WalSegment $dir -Verbose 4>&1)
            $segments = @($verbose | Where-Object { $_ -is [FlashWal.Inspection.SegmentInfo] })
            $segments.Index | Should -Be @(0, 2)
            $messages = @($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
            @($messages | Where-Object { $_ -like '*damage SegmentMissing*' }).Count | Should -Be 1
        }
    }

    Context 'paths that are not segments' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'small'
            New-TestWal -Directory $dir -Events 100
            $notes = Join-Path $TestDrive 'notes.txt'
            Set-Content -LiteralPath $notes -Value 'not a segment, but long enough to be taken for one if the magic matched'
        }

        It 'writes a WalPathNotFound error for a missing path and goes on with the next' {
            $missing = Join-Path $TestDrive 'no-such-wal'
            $segments = @(Get-WalSegment $missing, $dir -ErrorVariable errs -ErrorAction SilentlyContinue)
            $segments.Count | Should -Be 1
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalPathNotFound,*'
            $errs[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ObjectNotFound)
            $errs[0].TargetObject | Should -Be $missing
        }

        It 'writes a WalNotASegment error for a file that is not a segment' {
            $segments = @(Get-WalSegment -LiteralPath $notes -ErrorVariable errs -ErrorAction SilentlyContinue)
            $segments.Count | Should -Be 0
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalNotASegment,*'
            $errs[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidData)
            $errs[0].Exception.Message | Should -BeLike "*$notes*not a FlashWal segment*"
        }

        It 'writes a WalPathNotFound error for a wildcard that matches nothing' {
            Get-WalSegment -Path (Join-Path $TestDrive 'nothing-*.wal') -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalPathNotFound,*'
        }

        It 'writes a WalPathNotFileSystem error for a path on another provider' {
            Get-WalSegment -LiteralPath 'Env:PATH' -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalPathNotFileSystem,*'
            $errs[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidArgument)
        }

        It 'stops a script with -ErrorAction Stop' {
            { Get-WalSegment (Join-Path $TestDrive 'no-such-wal') -ErrorAction Stop } | Should -Throw -ErrorId 'WalPathNotFound,*'
        }
    }
}
