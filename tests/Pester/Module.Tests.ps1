#Requires -Version 7.4
# Pester 5 tests: the module as PowerShell and a gallery see it. Its help as Get-Help shows it, its manifest
# as Test-ModuleManifest reads it, and its package (FLASHWAL_PACKAGE, what ./build.ps1 -Task Package makes)
# installed with Install-PSResource from a local repository into a fresh pwsh.

BeforeAll {
    . (Join-Path $PSScriptRoot 'FlashWal.TestSupport.ps1') # $modulePath, $cliPath, $pwshPath; imports the module
    $packagePath = $env:FLASHWAL_PACKAGE
    if (-not $packagePath -or -not (Test-Path -LiteralPath $packagePath -PathType Leaf)) {
        throw "FLASHWAL_PACKAGE ('$packagePath') names no package: ./build.ps1 -Task Pester builds and sets it."
    }
}

AfterAll {
    Remove-Module -Name FlashWal -ErrorAction SilentlyContinue
}

Describe 'The module''s help' -Tag 'CI' {
    It 'describes -WhatIf and -Confirm for every cmdlet that supports them, and for no other' {
        $problems = foreach ($command in Get-Command -Module FlashWal) {
            $supports = $command.Parameters.ContainsKey('WhatIf')
            foreach ($risk in 'WhatIf', 'Confirm') {
                $help = Get-Help -Name $command.Name -Parameter $risk -ErrorAction SilentlyContinue
                $text = if ($help) { ($help.description.Text -join ' ').Trim() } else { '' }
                if ($supports -and -not $text) { "$($command.Name) supports -$risk but its help does not describe it" }
                if (-not $supports -and $text) { "$($command.Name) has no -$risk but its help describes one" }
            }
        }
        @($problems) | Should -BeNullOrEmpty
        @(Get-Command -Module FlashWal | Where-Object { $_.Parameters.ContainsKey('WhatIf') }).Count | Should -BeGreaterOrEqual 5
    }

    It 'shows -WhatIf and -Confirm in the syntax of Start-WalRecorder, Stop-WalRecorder and Write-WalEvent' {
        foreach ($name in 'Start-WalRecorder', 'Stop-WalRecorder', 'Write-WalEvent') {
            $syntax = Get-Help -Name $name | Select-Object -ExpandProperty syntax | Out-String
            $syntax | Should -Match '\[-WhatIf\]' -Because "$name supports -WhatIf"
            $syntax | Should -Match '\[-Confirm\]' -Because "$name supports -Confirm"
        }
    }
}

Describe 'The module''s manifest' -Tag 'CI' {
    It 'carries what a gallery needs' {
        $manifest = Test-ModuleManifest -Path $modulePath
        $manifest.Version | Should -BeGreaterThan ([version]'0.0')
        $manifest.Author | Should -Not -BeNullOrEmpty
        $manifest.Description.Length | Should -BeGreaterThan 40
        $manifest.CompatiblePSEditions | Should -Be @('Core')
        $manifest.PowerShellVersion | Should -Be ([version]'7.4')
        $manifest.Tags | Should -Contain 'WAL'
        $manifest.ReleaseNotes | Should -Match "^$([regex]::Escape($manifest.Version.ToString())):"
        $manifest.ExportedCmdlets.Keys | Should -Contain 'Start-WalRecorder'
        Join-Path $manifest.ModuleBase 'LICENSE' | Should -Exist
    }
}

Describe 'The package' -Tag 'CI' {
    It 'installs with Install-PSResource from a local repository and, imported by name in a fresh pwsh, records and verifies a log' {
        $userHome = Join-Path $TestDrive 'home'   # Install-PSResource -Scope CurrentUser installs below $HOME
        $repository = Join-Path $TestDrive 'repository'
        $wal = Join-Path $TestDrive 'installed-wal'
        # A home as a real user has one: .NET gives no ApplicationData folder where ~/.config is missing, and
        # NuGet (under Publish-PSResource) then writes NuGet/NuGet.Config into the current folder.
        $null = New-Item -ItemType Directory -Path (Join-Path $userHome '.config'), (Join-Path $userHome '.local/share'), $repository
        $script = @"
`$ErrorActionPreference = 'Stop'
Set-Location -LiteralPath '$TestDrive'
Register-PSResourceRepository -Name FlashWalTest -Uri '$repository' -Trusted
Publish-PSResource -NupkgPath '$packagePath' -Repository FlashWalTest
Install-PSResource -Name FlashWal -Repository FlashWalTest -Scope CurrentUser -TrustRepository -Quiet
Import-Module -Name FlashWal
`$module = Get-Module -Name FlashWal
`$null = Start-WalRecorder -Path '$wal' -Name installed
1..5000 | Write-WalEvent -Name installed
Stop-WalRecorder -Name installed
[pscustomobject]@{
    ModuleBase = `$module.ModuleBase
    Version    = "`$(`$module.Version)"
    Installed  = @(Get-InstalledPSResource -Name FlashWal).Count
    Intact     = Test-WalSegment -Path '$wal'
    Events     = (Test-WalSegment -Path '$wal' -Detailed).Events
} | ConvertTo-Json -Compress
"@
        $saved = @{ HOME = $env:HOME; XDG_DATA_HOME = $env:XDG_DATA_HOME; XDG_CONFIG_HOME = $env:XDG_CONFIG_HOME; XDG_CACHE_HOME = $env:XDG_CACHE_HOME; PSModulePath = $env:PSModulePath }
        try {
            # The child sees only its own, empty user folders: PowerShell's default module path, nothing of this session's.
            $env:HOME = $userHome
            foreach ($name in 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'PSModulePath') {
                [Environment]::SetEnvironmentVariable($name, $null) # removed, not empty: NuGet would take '' for the current folder
            }
            $output = & $pwshPath -NoProfile -NonInteractive -OutputFormat Text -Command $script 2>&1
            $exit = $LASTEXITCODE
        }
        finally {
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }
        $exit | Should -Be 0 -Because ($output -join "`n")
        $result = ($output | Select-Object -Last 1) | ConvertFrom-Json
        $result.ModuleBase | Should -BeLike "$userHome*" -Because 'the module is the one Install-PSResource put under the temporary home'
        $result.Version | Should -Be (Import-PowerShellDataFile -LiteralPath $modulePath).ModuleVersion
        $result.Installed | Should -Be 1
        $result.Intact | Should -BeTrue
        $result.Events | Should -Be 5000
        Get-ChildItem -LiteralPath $repository -Filter 'FlashWal.*.nupkg' | Should -HaveCount 1
    }
}
