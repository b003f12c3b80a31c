#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages and benchmarks FlashWal.

.DESCRIPTION
    Build    dotnet build of FlashWal.sln, then stages the module into out/FlashWal/ (manifest, format
             file, FlashWal.PowerShell.dll, FlashWal.Engine.dll, en-US help) and the flashwal CLI into
             out/cli/.
    Test     Build, then the xunit suite (dotnet test), then the Pester suite.
    Pester   Build, then the Pester 5 suite under tests/Pester in a fresh `pwsh -NoProfile` process,
             against the staged module (FLASHWAL_MODULE) and CLI (FLASHWAL_CLI).
    Package  Build, then zips out/FlashWal into out/FlashWal-<version>.zip.
    Bench    Runs the benchmark harness (bench/FlashWal.Bench): every scenario, or -Scenario NAME;
             -Quick for the seconds-long smoke run. Results, tables and plots go to bench/results/.
    Clean    Removes out/ and every project's bin/ and obj/.

    Every native command's exit code is checked; the script stops at the first failure and exits
    non-zero.

.EXAMPLE
    ./build.ps1 -Task Test

.EXAMPLE
    ./build.ps1 -Task Package -Configuration Release
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Pester', 'Package', 'Bench', 'Clean')]
    [string]$Task = 'Build',

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
$PesterTests = Join-Path $Root 'tests/Pester'
$UnitTests = Join-Path $Root 'tests/Unit/FlashWal.Tests.csproj'
$BenchProject = Join-Path $Root 'bench/FlashWal.Bench/FlashWal.Bench.csproj'

function Write-Step([string]$Message) {
    Write-Host "==> $Message" -ForegroundColor Cyan
}

function Invoke-Native {
    # Runs a native command and stops the build when it fails.
    param(
        [Parameter(Mandatory)][string]$FilePath,
        [string[]]$ArgumentList = @()
    )
    # Long arguments (the encoded Pester runner) are shortened in the log only.
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

function Invoke-BuildTask {
    Write-Step "dotnet build ($Configuration)"
    Invoke-Native dotnet 'build', $Solution, '-c', $Configuration, '--nologo'

    Write-Step "Staging the module into $ModuleOut"
    $bin = Join-Path $Root "src/FlashWal.PowerShell/bin/$Configuration/net8.0"
    $files = @(
        @{ From = $Manifest; To = 'FlashWal.psd1' }
        @{ From = (Join-Path $Root 'FlashWal.Format.ps1xml'); To = 'FlashWal.Format.ps1xml' }
        @{ From = (Join-Path $bin 'FlashWal.PowerShell.dll'); To = 'FlashWal.PowerShell.dll' }
        @{ From = (Join-Path $bin 'FlashWal.Engine.dll'); To = 'FlashWal.Engine.dll' }
        @{ From = (Join-Path $bin 'Microsoft.Extensions.ObjectPool.dll'); To = 'Microsoft.Extensions.ObjectPool.dll' }
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
    $version = Get-ModuleVersion
    Write-Host "Module FlashWal $version staged in $ModuleOut"

    Write-Step "Staging the flashwal CLI into $CliOut"
    if (Test-Path -LiteralPath $CliOut) {
        Remove-Item -LiteralPath $CliOut -Recurse -Force
    }
    Invoke-Native dotnet 'publish', (Join-Path $Root 'src/FlashWal.Cli/FlashWal.Cli.csproj'), '-c', $Configuration, '--no-build', '--nologo', '-o', $CliOut
    if (-not (Test-Path -LiteralPath (Join-Path $CliOut 'flashwal.dll') -PathType Leaf)) {
        throw "The CLI was published but '$CliOut/flashwal.dll' is missing."
    }
}

function Invoke-UnitTestTask {
    Write-Step "dotnet test (xunit, $Configuration)"
    Invoke-Native dotnet 'test', $UnitTests, '-c', $Configuration, '--no-build', '--nologo'
}

function Get-PwshPath {
    # A fresh process of the PowerShell that runs this script, or else the pwsh on PATH.
    $self = [Environment]::ProcessPath
    if ($self -and [IO.Path]::GetFileNameWithoutExtension($self) -eq 'pwsh') {
        return $self
    }
    $command = Get-Command -Name pwsh -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $command) {
        throw 'pwsh (PowerShell 7.4 or newer) is not on PATH; it is needed to run the Pester tests.'
    }
    return $command.Source
}

function Invoke-PesterTask {
    $pester = Get-Module -ListAvailable -Name Pester | Where-Object { $_.Version -ge [version]'5.0' } | Select-Object -First 1
    if (-not $pester) {
        throw ('Pester 5 or newer is not installed, so the Pester tests cannot run. ' +
            'Install it with: Install-Module Pester -MinimumVersion 5.0 -Scope CurrentUser -Force ' +
            '(the xunit suite runs without it: dotnet test tests/Unit).')
    }

    $moduleManifest = Join-Path $ModuleOut 'FlashWal.psd1'
    $cli = Join-Path $CliOut 'flashwal.dll'
    foreach ($staged in $moduleManifest, $cli) {
        if (-not (Test-Path -LiteralPath $staged -PathType Leaf)) {
            throw "'$staged' is missing: the Build task stages it."
        }
    }

    $results = Join-Path $OutDir 'pester-results.xml'
    # Runs in a fresh process: no profile, nothing loaded by this script, the staged module only.
    $runner = @'
$ErrorActionPreference = 'Stop'
Import-Module -Name Pester -MinimumVersion 5.0
$config = New-PesterConfiguration
$config.Run.Path = $env:FLASHWAL_PESTER_TESTS
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = $env:FLASHWAL_PESTER_RESULTS
$result = Invoke-Pester -Configuration $config
if ($result.Result -ne 'Passed') {
    [Console]::Error.WriteLine("Pester: $($result.FailedCount) test(s) failed, $($result.FailedBlocksCount) block(s) and $($result.FailedContainersCount) container(s) failed.")
    exit 1
}
if ($result.PassedCount -eq 0) {
    [Console]::Error.WriteLine("Pester: no test ran under $env:FLASHWAL_PESTER_TESTS.")
    exit 1
}
exit 0
'@
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($runner))

    $variables = @{
        FLASHWAL_MODULE         = $moduleManifest
        FLASHWAL_CLI            = $cli
        FLASHWAL_PESTER_TESTS   = $PesterTests
        FLASHWAL_PESTER_RESULTS = $results
    }
    $saved = @{}
    foreach ($name in $variables.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $variables[$name])
    }
    try {
        $pwsh = Get-PwshPath
        Write-Step "Pester $($pester.Version) in a fresh $pwsh -NoProfile"
        Invoke-Native $pwsh '-NoProfile', '-NonInteractive', '-OutputFormat', 'Text', '-EncodedCommand', $encoded
        Write-Host "Pester results: $results"
    }
    finally {
        foreach ($name in $saved.Keys) {
            [Environment]::SetEnvironmentVariable($name, $saved[$name])
        }
    }
}

function Invoke-PackageTask {
    $version = Get-ModuleVersion
    $zip = Join-Path $OutDir "FlashWal-$version.zip"
    Write-Step "Packaging $ModuleOut into $zip"
    if (Test-Path -LiteralPath $zip) {
        Remove-Item -LiteralPath $zip -Force
    }
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    # includeBaseDirectory: the archive holds FlashWal/..., ready to extract into a module folder.
    [System.IO.Compression.ZipFile]::CreateFromDirectory($ModuleOut, $zip, [System.IO.Compression.CompressionLevel]::Optimal, $true)
    Write-Host "Package: $zip"
}

function Invoke-BenchTask {
    if (-not (Test-Path -LiteralPath $BenchProject -PathType Leaf)) {
        [Console]::Error.WriteLine("No benchmark harness yet: '$BenchProject' does not exist. Benchmarks arrive with a later issue.")
        exit 1
    }
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
    switch ($Task) {
        'Build' { Invoke-BuildTask }
        'Test' { Invoke-BuildTask; Invoke-UnitTestTask; Invoke-PesterTask }
        'Pester' { Invoke-BuildTask; Invoke-PesterTask }
        'Package' { Invoke-BuildTask; Invoke-PackageTask }
        'Bench' { Invoke-BenchTask }
        'Clean' { Invoke-CleanTask }
    }
}
finally {
    Pop-Location
}
