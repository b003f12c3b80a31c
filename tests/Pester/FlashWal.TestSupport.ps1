#Requires -Version 7.4
# What the Pester tests share; dot-source it in a BeforeAll block. Not a test file (Pester runs *.Tests.ps1).
# Imports the staged module (FLASHWAL_MODULE) and finds the CLI (FLASHWAL_CLI), as ./build.ps1 -Task Pester sets them.

$repositoryOut = Join-Path $PSScriptRoot '../../out'
$modulePath = if ($env:FLASHWAL_MODULE) { $env:FLASHWAL_MODULE } else { Join-Path $repositoryOut 'FlashWal/FlashWal.psd1' }
$cliPath = if ($env:FLASHWAL_CLI) { $env:FLASHWAL_CLI } else { Join-Path $repositoryOut 'cli/flashwal.dll' }
foreach ($required in $modulePath, $cliPath) {
    if (-not (Test-Path -LiteralPath $required -PathType Leaf)) {
        throw "'$required' does not exist: run ./build.ps1 -Task Build first, or set FLASHWAL_MODULE and FLASHWAL_CLI."
    }
}
Import-Module -Name $modulePath -Force
