#Requires -Version 7.4
# Pester 5 tests for Test-WalSegment, run against the staged module (./build.ps1 -Task Pester).
# FLASHWAL_MODULE: the module manifest to import; FLASHWAL_CLI: flashwal.dll, used to record test WALs.

BeforeAll {
    . (Join-Path $PSScriptRoot 'FlashWal.TestSupport.ps1') # $modulePath, $cliPath; imports the module

    # Records $Events synthetic events into a new WAL directory, in segments of 256 KiB (5000 events of
    # 64 bytes fill two segments).
    function New-TestWal {
        param([Parameter(Mandatory)][string]$Directory, [int]$Events = 5000)
        $output = & dotnet $cliPath record $Directory --events $Events --segment-size 256KiB 2>&1
        if ($LASTEXITCODE -ne 0) {
            throw "flashwal record '$Directory' failed with exit code ${LASTEXITCODE}: $output"
        }
    }
}

AfterAll {
    Remove-Module -Name FlashWal -ErrorAction SilentlyContinue
}

Describe 'Test-WalSegment' -Tag 'CI' {
    It 'is exported by the FlashWal module' {
        $command = Get-Command -Name Test-WalSegment
        $command.ModuleName | Should -Be 'FlashWal'
        $command.CommandType | Should -Be 'Cmdlet'
    }

    Context 'an intact WAL' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'intact'
            New-TestWal -Directory $dir
            $segments = @(Get-ChildItem -LiteralPath $dir -Filter '*.wal')
        }

        It 'was recorded in more than one segment' {
            $segments.Count | Should -BeGreaterThan 1
        }

        It 'returns a single $true for the directory' {
            $result = Test-WalSegment $dir
            @($result).Count | Should -Be 1
            $result | Should -BeOfType ([bool])
            $result | Should -BeTrue
        }

        It 'returns one $true per segment file piped from Get-ChildItem' {
            $results = @(Get-ChildItem -Path (Join-Path $dir '*.wal') | Test-WalSegment)
            $results.Count | Should -Be $segments.Count
            foreach ($result in $results) {
                $result | Should -BeOfType ([bool])
                $result | Should -BeTrue
            }
        }

        It 'expands a wildcard in -Path, one result per match' {
            $results = @(Test-WalSegment -Path (Join-Path $dir '0*.wal'))
            $results.Count | Should -Be $segments.Count
            $results | Should -Not -Contain $false
        }

        It 'accepts paths from the pipeline by value' {
            $results = @($dir, $segments[0].FullName | Test-WalSegment)
            $results.Count | Should -Be 2
            $results | Should -Not -Contain $false
        }

        It 'resolves a relative path against the current PowerShell location' {
            Push-Location -LiteralPath $TestDrive
            try {
                Test-WalSegment 'intact' | Should -BeTrue
            }
            finally {
                Pop-Location
            }
        }

        It 'returns a verification report with -Detailed' {
            $report = Test-WalSegment $dir -Detailed
            @($report).Count | Should -Be 1
            $report | Should -BeOfType ([FlashWal.Inspection.VerificationReport])
            $report.IsIntact | Should -BeTrue
            $report.IsDirectory | Should -BeTrue
            $report.Segments.Count | Should -Be $segments.Count
            $report.Events | Should -Be 5000
            $report.FirstEventId | Should -Be 1
            $report.LastEventId | Should -Be 5000
        }
    }

    Context 'a segment with a flipped byte' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'damaged'
            New-TestWal -Directory $dir
            $files = @(Get-ChildItem -LiteralPath $dir -Filter '*.wal' | Sort-Object -Property Name)
            $damaged = $files[0].FullName
            $untouched = $files[1].FullName

            # The first block starts at 4096 and is 64 KiB long: 8192 + 100 is in the middle of its records.
            $offset = 8192 + 100
            $bytes = [System.IO.File]::ReadAllBytes($damaged)
            $bytes[$offset] = $bytes[$offset] -bxor 0xFF
            [System.IO.File]::WriteAllBytes($damaged, $bytes)
        }

        It 'returns a single $false for the directory' {
            $result = Test-WalSegment $dir
            @($result).Count | Should -Be 1
            $result | Should -BeOfType ([bool])
            $result | Should -BeFalse
        }

        It 'returns $false for the damaged file and $true for the untouched one' {
            Test-WalSegment -LiteralPath $damaged | Should -BeFalse
            Test-WalSegment -LiteralPath $untouched | Should -BeTrue
        }

        It 'reports a Damage finding that names the damaged file with -Detailed' {
            $report = Test-WalSegment $dir -Detailed
            $report.IsIntact | Should -BeFalse
            $damage = @($report.Findings | Where-Object {
                    $_.Severity -eq [FlashWal.Format.FindingSeverity]::Damage -and $_.File -eq $damaged
                })
            $damage.Count | Should -BeGreaterThan 0
            $damage[0].Offset | Should -BeGreaterOrEqual 4096
        }

        It 'writes the findings as verbose messages' {
            $verbose = @(Test-WalSegment $dir -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
            $verbose.Count | Should -BeGreaterThan 1
            $name = [System.IO.Path]::GetFileName($damaged)
            @($verbose.Message | Where-Object { $_ -like "*$name*damage*" }).Count | Should -BeGreaterThan 0
            $verbose[0].Message | Should -BeLike "${dir}: DAMAGED: * damage finding(s); * segment(s), * event(s)*" # the engine's verdict, as flashwal verify prints it
        }
    }

    Context 'paths that resolve to nothing' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'present'
            New-TestWal -Directory $dir -Events 100
        }

        It 'writes a WalPathNotFound error and no output for a missing path' {
            $missing = Join-Path $TestDrive 'no-such-wal'
            $result = Test-WalSegment $missing -ErrorVariable errs -ErrorAction SilentlyContinue
            @($result).Count | Should -Be 0
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalPathNotFound*'
            $errs[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ObjectNotFound)
            $errs[0].TargetObject | Should -Be $missing
        }

        It 'writes a WalPathNotFound error for a wildcard that matches nothing' {
            $pattern = Join-Path $TestDrive 'nothing-*.wal'
            $result = Test-WalSegment -Path $pattern -ErrorVariable errs -ErrorAction SilentlyContinue
            @($result).Count | Should -Be 0
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalPathNotFound*'
        }

        It 'goes on with the next path after a missing one' {
            $missing = Join-Path $TestDrive 'no-such-wal'
            $results = @(Test-WalSegment $missing, $dir -ErrorVariable errs -ErrorAction SilentlyContinue)
            $errs.Count | Should -Be 1
            $results.Count | Should -Be 1
            $results[0] | Should -BeTrue
        }

        It 'stops a script with -ErrorAction Stop' {
            { Test-WalSegment (Join-Path $TestDrive 'no-such-wal') -ErrorAction Stop } |
                Should -Throw -ErrorId 'WalPathNotFound*'
        }
    }

    Context 'a path with wildcard characters in its name' {
        BeforeAll {
            $dir = Join-Path $TestDrive 'wal[1]'
            New-TestWal -Directory $dir -Events 1000
        }

        It 'verifies it with -LiteralPath' {
            $result = Test-WalSegment -LiteralPath $dir
            @($result).Count | Should -Be 1
            $result | Should -BeTrue
        }

        It 'verifies it piped from Get-Item and its files piped from Get-ChildItem' {
            Get-Item -LiteralPath $dir | Test-WalSegment | Should -BeTrue
            $results = @(Get-ChildItem -LiteralPath $dir -Filter '*.wal' | Test-WalSegment)
            $results.Count | Should -BeGreaterThan 0
            $results | Should -Not -Contain $false
        }

        It 'treats the brackets as a wildcard with -Path' {
            # 'wal[1]' as a pattern matches 'wal1', which does not exist.
            $result = Test-WalSegment -Path $dir -ErrorVariable errs -ErrorAction SilentlyContinue
            @($result).Count | Should -Be 0
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'WalPathNotFound*'
        }

        It 'returns a report for it with -LiteralPath -Detailed' {
            $report = Test-WalSegment -LiteralPath $dir -Detailed
            $report | Should -BeOfType ([FlashWal.Inspection.VerificationReport])
            $report.Events | Should -Be 1000
        }
    }
}
