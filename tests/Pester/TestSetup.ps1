# Dot-sourced by the *.Tests.ps1 files in their BeforeAll: finds the staged module and CLI and imports
# the module. FLASHWAL_MODULE: the module manifest; FLASHWAL_CLI: flashwal.dll (./build.ps1 -Task
# Pester sets both); without them, ./out as ./build.ps1 -Task Build leaves it.
$repositoryOut = Join-Path $PSScriptRoot '../../out'
$modulePath = if ($env:FLASHWAL_MODULE) { $env:FLASHWAL_MODULE } else { Join-Path $repositoryOut 'FlashWal/FlashWal.psd1' }
$cliPath = if ($env:FLASHWAL_CLI) { $env:FLASHWAL_CLI } else { Join-Path $repositoryOut 'cli/flashwal.dll' }
foreach ($required in $modulePath, $cliPath) {
    if (-not (Test-Path -LiteralPath $required -PathType Leaf)) {
        throw "'$required' does not exist: run ./build.ps1 -Task Build first, or set FLASHWAL_MODULE and FLASHWAL_CLI."
    }
}
Import-Module -Name $modulePath -Force
