#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages, demonstrates and benchmarks FlashWal.

.DESCRIPTION
    Needs only the .NET SDK: PowerShell itself is the local .NET tool pinned in .config/dotnet-tools.json
    and Pester comes from NuGet (tests/Pester/PesterPackages.csproj), so on a fresh machine:

        dotnet tool restore && dotnet pwsh -NoProfile -File ./build.ps1 -Task Test

    Build       dotnet build of FlashWal.sln, then stages the module into out/FlashWal/ (manifest, format
                file, assemblies, en-US help, LICENSE) and the flashwal CLI into out/cli/.
    Package     Build, then the module as a NuGet package, out/packages/FlashWal.<version>.nupkg, which
                Install-PSResource installs from a local repository (a folder holding it).
    Unit        Build, then the xunit suite (dotnet test, one line per test as it ends).
    Pester      Build and Package, then the Pester suite under tests/Pester in a fresh pwsh -NoProfile,
                against the staged module (FLASHWAL_MODULE), CLI (FLASHWAL_CLI) and package
                (FLASHWAL_PACKAGE).
    BenchSmoke  The benchmark harness's quick run (proves it works; asserts nothing about speed).
    Test        Build, Package, Unit, Pester and BenchSmoke, each run even when an earlier one failed,
                then one summary line per suite ('unit: N passed, N failed, N skipped', ...) and a
                'total:' line. Exits 1 when any suite failed or ran no test.
    OpsSession  Build, then examples/ops-session.ps1 in a fresh pwsh: what an operations engineer does
                with the module (a recorder writing a million events, telemetry, verification, a
                recovery), on defaults, in a temporary directory it removes afterwards.
    Bench       Runs the benchmark harness (bench/FlashWal.Bench): every scenario, or -Scenario NAME;
                -Quick for the seconds-long smoke run. Results, tables and plots go to bench/results/.
    Clean       Removes out/ and every project's bin/ and obj/.

    Several tasks run in the order given (-Task Clean, Test). Every native command's exit code is
    checked.

.EXAMPLE
    dotnet tool restore && dotnet pwsh -NoProfile -File ./build.ps1 -Task Test

.EXAMPLE
    dotnet pwsh -NoProfile -File ./build.ps1 -Task OpsSession
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Package', 'Unit', 'Pester', 'BenchSmoke', 'Test', 'OpsSession', 'Bench', 'Clean')]
    [string[]]$Task = 'Build',

    [string]$Configuration = 'Release',

    # Bench only: one scenario (append-latency, append-throughput, durability, recovery, host, prefault,
    # block-size, compression, checksum) or all of them.
    [string]$Scenario = 'all',

    # Bench only: the quick smoke run (proves the harness works; the numbers mean little).
    [switch]$Quick
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
# Exit codes are checked explicitly after every native call (Invoke-Native).
$PSNativeCommandUseErrorActionPreference = $false

$Root = $PSScriptRoot
$Solution = Join-Path $Root 'FlashWal.sln'
$Manifest = Join-Path $Root 'FlashWal.psd1'
$OutDir = Join-Path $Root 'out'
$ModuleOut = Join-Path $OutDir 'FlashWal'
$CliOut = Join-Path $OutDir 'cli'
$PackageOut = Join-Path $OutDir 'packages'
$TestResults = Join-Path $OutDir 'test-results'
$PesterTests = Join-Path $Root 'tests/Pester'
$PesterPackages = Join-Path $Root 'tests/Pester/PesterPackages.csproj'
$UnitTests = Join-Path $Root 'tests/Unit/FlashWal.Tests.csproj'
$BenchProject = Join-Path $Root 'bench/FlashWal.Bench/FlashWal.Bench.csproj'
$OpsSession = Join-Path $Root 'examples/ops-session.ps1'

# What each suite of the Test task found: Name, Passed, Failed, Skipped, Problem (why it failed, if it did).
$Suites = [System.Collections.Generic.List[object]]::new()

function Write-Step([string]$Message) {
    Write-Host "==> $Message" -ForegroundColor Cyan
}

function Invoke-Native {
    # Runs a native command and stops the build when it fails.
    param(
        [Parameter(Mandatory)][string]$FilePath,
        [string[]]$ArgumentList = @()
    )
    # Long arguments (an encoded script) are shortened in the log only.
    $shown = ($ArgumentList | ForEach-Object { if ($_.Length -gt 100) { $_.Substring(0, 40) + '...' } else { $_ } }) -join ' '
    Write-Host "> $FilePath $shown" -ForegroundColor DarkGray
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) {
        throw "'$FilePath $shown' failed with exit code $LASTEXITCODE."
    }
}

function Get-ModuleVersion {
    (Import-PowerShellDataFile -LiteralPath $Manifest).ModuleVersion
}

function Get-PwshPath {
    # A fresh process of the PowerShell that runs this script: the local tool's apphost next to its
    # System.Management.Automation ($PSHOME), whether it was started as `dotnet pwsh` or as pwsh.
    $name = if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' }
    $path = Join-Path $PSHOME $name
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
        throw "No '$name' in this PowerShell's home '$PSHOME'; run this script with 'dotnet tool restore' then 'dotnet pwsh -File ./build.ps1'."
    }
    return $path
}

function Invoke-BuildTask {
    Write-Step "dotnet build ($Configuration)"
    Invoke-Native dotnet 'build', $Solution, '-c', $Configuration, '--nologo'

    Write-Step "Staging the module into $ModuleOut"
    $bin = Join-Path $Root "src/FlashWal.PowerShell/bin/$Configuration/net8.0"
    $files = @(
        @{ From = $Manifest; To = 'FlashWal.psd1' }
        @{ From = (Join-Path $Root 'FlashWal.Format.ps1xml'); To = 'FlashWal.Format.ps1xml' }
        @{ From = (Join-Path $Root 'LICENSE'); To = 'LICENSE' }
        @{ From = (Join-Path $bin 'FlashWal.PowerShell.dll'); To = 'FlashWal.PowerShell.dll' }
        @{ From = (Join-Path $bin 'FlashWal.Engine.dll'); To = 'FlashWal.Engine.dll' }
        @{ From = (Join-Path $bin 'Microsoft.Extensions.ObjectPool.dll'); To = 'Microsoft.Extensions.ObjectPool.dll' }
        # Replication (Start-WalRecorder -ReplicateTo, Restore-WalLog): the library and the NATS client it ships with.
        @{ From = (Join-Path $bin 'FlashWal.Replication.dll'); To = 'FlashWal.Replication.dll' }
        foreach ($dependency in 'NATS.Client.Abstractions', 'NATS.Client.Core', 'NATS.Client.JetStream', 'NATS.NKeys', 'Microsoft.Extensions.Logging.Abstractions',
            'Microsoft.Extensions.DependencyInjection.Abstractions', 'Microsoft.Extensions.Primitives', 'System.IO.Pipelines', 'System.Diagnostics.DiagnosticSource') {
            @{ From = (Join-Path $bin "$dependency.dll"); To = "$dependency.dll" }
        }
        @{ From = (Join-Path $bin 'en-US/FlashWal.PowerShell.dll-Help.xml'); To = 'en-US/FlashWal.PowerShell.dll-Help.xml' }
    )
    if (Test-Path -LiteralPath $ModuleOut) {
        Remove-Item -LiteralPath $ModuleOut -Recurse -Force
    }
    foreach ($file in $files) {
        if (-not (Test-Path -LiteralPath $file.From -PathType Leaf)) {
            throw "Cannot stage the module: '$($file.From)' is missing after the build."
        }
        $target = Join-Path $ModuleOut $file.To
        New-Item -ItemType Directory -Path (Split-Path -Parent $target) -Force | Out-Null
        Copy-Item -LiteralPath $file.From -Destination $target
    }
    # PowerShell provides System.Management.Automation; a copy in the module would shadow it.
    if (Test-Path -LiteralPath (Join-Path $bin 'System.Management.Automation.dll')) {
        throw "System.Management.Automation.dll is in '$bin': the PowerShellStandard.Library reference must stay compile-only."
    }
    Write-Host "Module FlashWal $(Get-ModuleVersion) staged in $ModuleOut"

    Write-Step "Staging the flashwal CLI into $CliOut"
    if (Test-Path -LiteralPath $CliOut) {
        Remove-Item -LiteralPath $CliOut -Recurse -Force
    }
    Invoke-Native dotnet 'publish', (Join-Path $Root 'src/FlashWal.Cli/FlashWal.Cli.csproj'), '-c', $Configuration, '--no-build', '--nologo', '-o', $CliOut
    if (-not (Test-Path -LiteralPath (Join-Path $CliOut 'flashwal.dll') -PathType Leaf)) {
        throw "The CLI was published but '$CliOut/flashwal.dll' is missing."
    }
}

function Invoke-PackageTask {
    # PSResourceGet (shipped with PowerShell 7.4+) writes the .nupkg that Install-PSResource reads,
    # with the manifest's version, author, description, tags, URIs and release notes in its .nuspec.
    $version = Get-ModuleVersion
    Write-Step "Packaging $ModuleOut as a NuGet package into $PackageOut"
    if (Test-Path -LiteralPath $PackageOut) {
        Remove-Item -LiteralPath $PackageOut -Recurse -Force
    }
    New-Item -ItemType Directory -Path $PackageOut -Force | Out-Null
    Import-Module Microsoft.PowerShell.PSResourceGet
    Compress-PSResource -Path $ModuleOut -DestinationPath $PackageOut
    $package = Join-Path $PackageOut "FlashWal.$version.nupkg"
    if (-not (Test-Path -LiteralPath $package -PathType Leaf)) {
        throw "Compress-PSResource ran but '$package' is missing; $PackageOut holds: $((Get-ChildItem -LiteralPath $PackageOut -Name) -join ', ')."
    }
    Write-Host "Package: $package (Install-PSResource FlashWal from a repository that holds it; see README)"
}

function Add-SuiteResult {
    param([string]$Name, [int]$Passed, [int]$Failed, [int]$Skipped, [string]$Problem)
    if (-not $Problem -and $Failed -gt 0) {
        $Problem = "$Failed failed"
    }
    if (-not $Problem -and $Passed -eq 0) {
        $Problem = 'no test ran'
    }
    $Suites.Add([pscustomobject]@{ Name = $Name; Passed = $Passed; Failed = $Failed; Skipped = $Skipped; Problem = $Problem })
}

function Install-TestTool {
    # Debian packages the unit suite needs, installed here when missing (as root, with apt-get); where
    # that cannot be done, the tests that need one are skipped saying why (the *_INSTALL_FAILED
    # variable), and only then.
    # strace: the real-kernel fault tests inject EIO into a running flashwal with it.
    Install-DebianPackage -Command 'strace' -Package 'strace' -Purpose 'the real-kernel fault tests' -FailedVariable 'FLASHWAL_STRACE_INSTALL_FAILED'
    # nats-server: the replication tests start a three-node JetStream cluster on 127.0.0.1 (issue 17).
    Install-DebianPackage -Command 'nats-server' -Package 'nats-server' -Purpose 'the replication tests' -FailedVariable 'FLASHWAL_NATS_INSTALL_FAILED'
}

function Install-DebianPackage([string]$Command, [string]$Package, [string]$Purpose, [string]$FailedVariable) {
    if (Get-Command -Name $Command -CommandType Application -ErrorAction SilentlyContinue) {
        return
    }

    $reason = if (-not $IsLinux) {
        "$Purpose need Linux"
    }
    elseif (-not (Get-Command -Name apt-get -CommandType Application -ErrorAction SilentlyContinue)) {
        'apt-get is not available'
    }
    elseif ((& id -u) -ne '0') {
        "installing it needs root (as root: apt-get install -y $Package)"
    }
    else {
        Write-Step "Installing $Package (apt-get) for $Purpose"
        $env:DEBIAN_FRONTEND = 'noninteractive'
        $log = & { apt-get install -y $Package; if ($LASTEXITCODE -ne 0) { apt-get update; apt-get install -y $Package } } 2>&1 | Out-String
        if (Get-Command -Name $Command -CommandType Application -ErrorAction SilentlyContinue) {
            $null
        }
        else {
            "apt-get install -y $Package failed: $(($log.Trim() -split "`n" | Select-Object -Last 3) -join ' ')"
        }
    }

    if ($reason) {
        $message = "$Command is not installed and could not be installed: $reason"
        Set-Item -Path "env:$FailedVariable" -Value $message
        Write-Warning "$message; $Purpose will be skipped, saying so"
    }
}

function Invoke-UnitTask {
    Install-TestTool
    Write-Step "xunit (dotnet test, $Configuration): one line per test as it ends"
    $trx = Join-Path $TestResults 'unit.trx'
    if (Test-Path -LiteralPath $trx) {
        Remove-Item -LiteralPath $trx -Force
    }
    # Normal console verbosity prints each test as it ends (the progress of a run of a few minutes) and
    # the reason under every skipped one; the TRX file is where the counts are read from.
    & dotnet test $UnitTests -c $Configuration --no-build --nologo `
        --logger 'console;verbosity=normal' --logger 'trx;LogFileName=unit.trx' --results-directory $TestResults
    $exit = $LASTEXITCODE
    if (-not (Test-Path -LiteralPath $trx -PathType Leaf)) {
        Add-SuiteResult 'unit' 0 0 0 "dotnet test exited $exit and wrote no results ($trx)"
        return
    }
    $run = ([xml](Get-Content -LiteralPath $trx -Raw)).TestRun
    $counters = $run.ResultSummary.Counters
    $problem = if ($exit -ne 0 -and [int]$counters.failed -eq 0) { "dotnet test exited $exit" } else { $null }
    if ([int]$counters.failed -gt 0) {
        # CI keeps only the tail of the log, so the summary names each failed test and the first line of
        # its message (three lines at most): a failure that happened once must be identifiable from the tail alone.
        $names = foreach ($result in @($run.Results.UnitTestResult | Where-Object outcome -eq 'Failed')) {
            $message = ("$($result.Output.ErrorInfo.Message)".Trim() -split "`n" | ForEach-Object Trim | Where-Object { $_ } | Select-Object -First 3) -join ' | '
            if ($message.Length -gt 300) { $message = $message.Substring(0, 300) + '...' }
            "$($result.testName): $message"
        }
        $problem = "$($counters.failed) failed`n  " + ($names -join "`n  ")
    }
    Add-SuiteResult 'unit' ([int]$counters.passed) ([int]$counters.failed) ([int]$counters.notExecuted) $problem
}

function Get-PesterManifest {
    # Pester is pinned in tests/Pester/PesterPackages.csproj; a restore brings it from NuGet.
    Invoke-Native dotnet 'restore', $PesterPackages, '--nologo', '-v', 'quiet'
    $properties = (& dotnet msbuild $PesterPackages -nologo -getProperty:NuGetPackageRoot -getProperty:PesterVersion | ConvertFrom-Json).Properties
    if ($LASTEXITCODE -ne 0) {
        throw "Cannot read where NuGet put Pester ('dotnet msbuild $PesterPackages -getProperty' exited $LASTEXITCODE)."
    }
    $path = Join-Path $properties.NuGetPackageRoot "pester/$($properties.PesterVersion)/tools/Pester.psd1"
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
        throw "Pester $($properties.PesterVersion) was restored but '$path' does not exist."
    }
    return $path
}

function Invoke-PesterTask {
    Install-TestTool # nats-server: the replication tests start a cluster
    $pester = Get-PesterManifest
    $moduleManifest = Join-Path $ModuleOut 'FlashWal.psd1'
    $cli = Join-Path $CliOut 'flashwal.dll'
    $package = Join-Path $PackageOut "FlashWal.$(Get-ModuleVersion).nupkg"
    foreach ($staged in $moduleManifest, $cli, $package) {
        if (-not (Test-Path -LiteralPath $staged -PathType Leaf)) {
            throw "'$staged' is missing: the Build and Package tasks make it."
        }
    }

    New-Item -ItemType Directory -Path $TestResults -Force | Out-Null
    $results = Join-Path $TestResults 'pester.xml'
    $summary = Join-Path $TestResults 'pester-summary.json'
    foreach ($old in $results, $summary) {
        if (Test-Path -LiteralPath $old) {
            Remove-Item -LiteralPath $old -Force
        }
    }
    # Runs in a fresh process: no profile, nothing loaded by this script, the staged module only.
    $runner = @'
$ErrorActionPreference = 'Stop'
Import-Module -Name $env:FLASHWAL_PESTER
$config = New-PesterConfiguration
$config.Run.Path = $env:FLASHWAL_PESTER_TESTS
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
if ([Console]::IsOutputRedirected) {
    $config.Output.RenderMode = 'Plaintext' # a CI log: no colour escapes
}
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = $env:FLASHWAL_PESTER_RESULTS
$result = Invoke-Pester -Configuration $config
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
# CI keeps only the tail of the log: each failed test, block or file is named with the first lines of its
# error, so that the summary at the end says what failed.
$failures = @(
    foreach ($item in @($result.Failed) + @($result.FailedBlocks)) {
        $message = ("$(@($item.ErrorRecord)[0])".Trim() -split "`n" | ForEach-Object Trim | Where-Object { $_ } | Select-Object -First 3) -join ' | '
        if ($message.Length -gt 300) { $message = $message.Substring(0, 300) + '...' }
        if (-not $message) { $message = '(no error of its own: a block around it failed)' }
        "$($item.ExpandedPath): $message"
    }
    foreach ($container in @($result.FailedContainers)) {
        "$($container.Item): $("$(@($container.ErrorRecord)[0])".Trim() -split "`n" | Select-Object -First 1)"
    }
)
@{ Passed = $result.PassedCount; Failed = $failed; Skipped = $result.SkippedCount + $result.NotRunCount; Failures = $failures } |
    ConvertTo-Json | Set-Content -LiteralPath $env:FLASHWAL_PESTER_SUMMARY
exit $(if ($result.Result -eq 'Passed') { 0 } else { 1 })
'@
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($runner))

    $variables = @{
        FLASHWAL_PESTER         = $pester
        FLASHWAL_MODULE         = $moduleManifest
        FLASHWAL_CLI            = $cli
        FLASHWAL_PACKAGE        = $package
        FLASHWAL_PESTER_TESTS   = $PesterTests
        FLASHWAL_PESTER_RESULTS = $results
        FLASHWAL_PESTER_SUMMARY = $summary
    }
    $saved = @{}
    foreach ($name in $variables.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $variables[$name])
    }
    try {
        $pwsh = Get-PwshPath
        Write-Step "Pester ($pester) in a fresh $pwsh -NoProfile"
        & $pwsh -NoProfile -NonInteractive -OutputFormat Text -EncodedCommand $encoded
        $exit = $LASTEXITCODE
    }
    finally {
        foreach ($name in $saved.Keys) {
            [Environment]::SetEnvironmentVariable($name, $saved[$name])
        }
    }
    if (-not (Test-Path -LiteralPath $summary -PathType Leaf)) {
        Add-SuiteResult 'pester' 0 0 0 "pwsh exited $exit before Pester wrote its summary"
        return
    }
    $counts = Get-Content -LiteralPath $summary -Raw | ConvertFrom-Json
    $problem = if ($exit -ne 0 -and $counts.Failed -eq 0) { "Pester's process exited $exit" } else { $null }
    if ([int]$counts.Failed -gt 0) {
        $problem = "$($counts.Failed) failed`n  " + (@($counts.Failures) -join "`n  ")
    }
    Add-SuiteResult 'pester' $counts.Passed $counts.Failed $counts.Skipped $problem
    Write-Host "Pester results: $results"
}

function Invoke-BenchSmokeTask {
    Write-Step 'Benchmark harness smoke run (asserts nothing about speed)'
    $results = Join-Path $TestResults 'bench-smoke'
    if (Test-Path -LiteralPath $results) {
        Remove-Item -LiteralPath $results -Recurse -Force
    }
    # Each scenario that completes writes its <name>.md; one that throws ends the run.
    $output = & dotnet run -c $Configuration --project $BenchProject -- all --quick --results $results 2>&1 |
        ForEach-Object { Write-Host $_; "$_" }
    $exit = $LASTEXITCODE
    $started = @($output | Where-Object { $_ -match '^== (\S+) \(quick\) ==$' }).Count
    $written = if (Test-Path -LiteralPath $results) { @(Get-ChildItem -LiteralPath $results -Filter '*.md').Count } else { 0 }
    # A scenario counts as passed once it wrote its results, as failed when it started and did not.
    $failed = $started - $written
    $problem = if ($exit -ne 0) { "the harness exited $exit" } else { $null }
    Add-SuiteResult 'bench smoke' $written $failed 0 $problem
}

function Write-Summary {
    Write-Host ''
    Write-Step 'Summary'
    foreach ($suite in $Suites | Where-Object Problem) {
        Write-Host "FAILED $($suite.Name): $($suite.Problem)" -ForegroundColor Red
    }
    foreach ($suite in $Suites) {
        Write-Host "$($suite.Name): $($suite.Passed) passed, $($suite.Failed) failed, $($suite.Skipped) skipped"
    }
    $passed = ($Suites | Measure-Object -Property Passed -Sum).Sum
    $failed = ($Suites | Measure-Object -Property Failed -Sum).Sum
    $skipped = ($Suites | Measure-Object -Property Skipped -Sum).Sum
    Write-Host "total: $passed passed, $failed failed, $skipped skipped"
    $bad = @($Suites | Where-Object Problem)
    if ($bad.Count -gt 0) {
        [Console]::Error.WriteLine("build.ps1: tests failed: $(($bad | ForEach-Object { "$($_.Name) ($(($_.Problem -split "`n")[0]))" }) -join '; ').")
        exit 1
    }
}

function Invoke-TestTask {
    Invoke-BuildTask
    Invoke-PackageTask
    # Every suite runs even when one before it failed, so that one run shows everything that is wrong.
    # (Not named $suites: PowerShell's names ignore case, and the functions called would see it as $Suites.)
    $runners = [ordered]@{ 'unit' = 'Invoke-UnitTask'; 'pester' = 'Invoke-PesterTask'; 'bench smoke' = 'Invoke-BenchSmokeTask' }
    foreach ($runner in $runners.GetEnumerator()) {
        try {
            & $runner.Value
        }
        catch {
            Add-SuiteResult $runner.Key 0 0 0 "$_"
        }
    }
    Write-Summary
}

function Invoke-OpsSessionTask {
    $pwsh = Get-PwshPath
    Write-Step "The ops session ($OpsSession) in a fresh $pwsh -NoProfile"
    Invoke-Native $pwsh '-NoProfile', '-NonInteractive', '-File', $OpsSession, '-ModulePath', (Join-Path $ModuleOut 'FlashWal.psd1')
}

function Invoke-BenchTask {
    $arguments = @('run', '-c', 'Release', '--project', $BenchProject, '--', $Scenario)
    if ($Quick) {
        $arguments += '--quick'
    }
    Write-Step "Benchmarks (Release, $Scenario$(if ($Quick) { ', quick' }))"
    Invoke-Native dotnet $arguments
}

function Invoke-CleanTask {
    Write-Step 'Removing out/ and every project''s bin/ and obj/'
    if (Test-Path -LiteralPath $OutDir) {
        Remove-Item -LiteralPath $OutDir -Recurse -Force
    }
    $projects = foreach ($folder in 'src', 'tests', 'bench') {
        $path = Join-Path $Root $folder
        if (Test-Path -LiteralPath $path) {
            Get-ChildItem -LiteralPath $path -Recurse -File -Filter '*.csproj'
        }
    }
    foreach ($project in $projects) {
        foreach ($name in 'bin', 'obj') {
            $dir = Join-Path $project.DirectoryName $name
            if (Test-Path -LiteralPath $dir) {
                Remove-Item -LiteralPath $dir -Recurse -Force
            }
        }
    }
}

Push-Location -LiteralPath $Root
try {
    foreach ($name in $Task) {
        switch ($name) {
            'Build' { Invoke-BuildTask }
            'Package' { Invoke-BuildTask; Invoke-PackageTask }
            'Unit' { Invoke-BuildTask; Invoke-UnitTask; Write-Summary }
            'Pester' { Invoke-BuildTask; Invoke-PackageTask; Invoke-PesterTask; Write-Summary }
            'BenchSmoke' { Invoke-BenchSmokeTask; Write-Summary }
            'Test' { Invoke-TestTask }
            'OpsSession' { Invoke-BuildTask; Invoke-OpsSessionTask }
            'Bench' { Invoke-BenchTask }
            'Clean' { Invoke-CleanTask }
        }
    }
}
finally {
    Pop-Location
}
