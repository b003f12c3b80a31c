#Requires -Version 7.4
# What the Pester tests share; dot-source it in a BeforeAll block. Not a test file (Pester runs *.Tests.ps1).
# Imports the staged module (FLASHWAL_MODULE) and finds the CLI (FLASHWAL_CLI), as ./build.ps1 -Task Pester sets them,
# and the pwsh that runs child sessions ($pwshPath).

$repositoryOut = Join-Path $PSScriptRoot '../../out'
$modulePath = if ($env:FLASHWAL_MODULE) { $env:FLASHWAL_MODULE } else { Join-Path $repositoryOut 'FlashWal/FlashWal.psd1' }
$cliPath = if ($env:FLASHWAL_CLI) { $env:FLASHWAL_CLI } else { Join-Path $repositoryOut 'cli/flashwal.dll' }
foreach ($required in $modulePath, $cliPath) {
    if (-not (Test-Path -LiteralPath $required -PathType Leaf)) {
        throw "'$required' does not exist: run ./build.ps1 -Task Build first, or set FLASHWAL_MODULE and FLASHWAL_CLI."
    }
}
Import-Module -Name $modulePath -Force

# A fresh process of this PowerShell: the apphost in $PSHOME, also when this one was started as `dotnet pwsh`
# (whose process is dotnet itself).
$pwshPath = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })

# Records $Events synthetic events (64-byte binary payloads, type 1) with the CLI into a new WAL directory,
# in segments of 256 KiB: 2928 events fill the first segment. $Arguments go to flashwal record as well.
function New-TestWal {
    param([Parameter(Mandatory)][string]$Directory, [int]$Events = 5000, [string[]]$Arguments = @())
    $output = & dotnet $cliPath record $Directory --events $Events --segment-size 256KiB @Arguments 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw "flashwal record '$Directory' failed with exit code ${LASTEXITCODE}: $output"
    }
}

# Writes one event per item of $Events (hashtables with Type and either Text, UTF-8 encoded, or Bytes) into a
# new WAL directory through the engine's recorder, with ids from 1: the CLI writes only synthetic binary
# payloads. PowerShell cannot pass a byte array where the recorder takes a span, so a few lines of C# do it.
function New-EventWal {
    param([Parameter(Mandatory)][string]$Directory, [Parameter(Mandatory)][hashtable[]]$Events)
    if (-not ('FlashWalPester.EventWriter' -as [type])) {
        $engine = Join-Path (Split-Path -Parent $modulePath) 'FlashWal.Engine.dll'
        $null = [System.Reflection.Assembly]::LoadFrom($engine)
        # IgnoreWarnings: the engine targets net8.0, and the compiler notes that this PowerShell's runtime is newer.
        Add-Type -ReferencedAssemblies $engine -IgnoreWarnings -WarningAction SilentlyContinue -TypeDefinition @'
namespace FlashWalPester
{
    public static class EventWriter
    {
        public static long Write(string directory, ushort[] types, byte[][] payloads)
        {
            var options = new FlashWal.Recording.WalRecorderOptions { SegmentSize = 256 * 1024 };
            using (var recorder = FlashWal.Recording.WalRecorder.Open(directory, options))
            {
                for (int i = 0; i < payloads.Length; i++)
                {
                    recorder.Append(payloads[i], types[i]);
                }

                return recorder.Commit();
            }
        }
    }
}
'@
    }
    $types = [uint16[]]@($Events | ForEach-Object { $_.Type })
    $payloads = [byte[][]]@($Events | ForEach-Object {
            if ($_.ContainsKey('Text')) { , [System.Text.Encoding]::UTF8.GetBytes($_.Text) } else { , [byte[]]$_.Bytes }
        })
    $null = [FlashWalPester.EventWriter]::Write($Directory, $types, $payloads)
}

# Flips every bit of the byte at $Offset of $Path, with PowerShell's own file calls.
function Set-FlippedByte {
    param([Parameter(Mandatory)][string]$Path, [Parameter(Mandatory)][long]$Offset)
    $bytes = [System.IO.File]::ReadAllBytes($Path)
    $bytes[$Offset] = $bytes[$Offset] -bxor 0xFF
    [System.IO.File]::WriteAllBytes($Path, $bytes)
}

# Starts `flashwal record` in a background process (its output in files next to the directory) and returns it.
function Start-TestRecorder {
    param([Parameter(Mandatory)][string]$Directory, [Parameter(Mandatory)][string[]]$Arguments)
    Start-Process -FilePath dotnet -ArgumentList (@($cliPath, 'record', $Directory) + $Arguments) -PassThru `
        -RedirectStandardOutput "$Directory.out.txt" -RedirectStandardError "$Directory.err.txt"
}

# Runs $ScriptBlock with $ArgumentList in a new runspace that has the module imported, as a user's session
# would, and waits at most $TimeoutSeconds for it; then stops it (what Ctrl+C does) if it has not ended.
# Returns the PowerShell instance (Streams, InvocationStateInfo), the output, and how it ended: by itself, or
# stopped (Stopped is $true once the stop completed, within 30 s).
function Invoke-Bounded {
    param(
        [Parameter(Mandatory)][scriptblock]$ScriptBlock,
        [object[]]$ArgumentList = @(),
        [Parameter(Mandatory)][double]$TimeoutSeconds,
        # Called every 50 ms while it runs; stops it early when it returns $true.
        [scriptblock]$StopWhen
    )
    $shell = [powershell]::Create()
    $null = $shell.AddCommand('Import-Module').AddParameter('Name', $modulePath).AddStatement()
    $null = $shell.AddScript($ScriptBlock.ToString())
    foreach ($argument in $ArgumentList) {
        $null = $shell.AddArgument($argument)
    }
    $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $noInput = [System.Management.Automation.PSDataCollection[psobject]]::new()
    $noInput.Complete() # else the pipeline waits for input
    $async = $shell.BeginInvoke($noInput, $output)
    $stopped = $false
    while (-not $async.IsCompleted -and $watch.Elapsed.TotalSeconds -lt $TimeoutSeconds) {
        if ($StopWhen -and (& $StopWhen)) {
            break
        }
        $null = $async.AsyncWaitHandle.WaitOne(50)
    }
    $endedByItself = $async.IsCompleted
    $stopSeconds = 0
    if (-not $endedByItself) {
        # BeginStop, not Stop: a command that ignored the stop would otherwise hang the test run.
        $stopWatch = [System.Diagnostics.Stopwatch]::StartNew()
        $stopping = $shell.BeginStop($null, $null)
        $stopped = $stopping.AsyncWaitHandle.WaitOne([timespan]::FromSeconds(30)) -and $async.AsyncWaitHandle.WaitOne([timespan]::FromSeconds(30))
        $stopSeconds = $stopWatch.Elapsed.TotalSeconds
    }
    [pscustomobject]@{
        Shell         = $shell
        Output        = @($output)
        EndedByItself = $endedByItself
        Stopped       = $stopped
        StopSeconds   = $stopSeconds
        Seconds       = $watch.Elapsed.TotalSeconds
        State         = $shell.InvocationStateInfo.State
        Errors        = @($shell.Streams.Error)
    }
}

# How many of this process's open file descriptors point into $Directory (Linux only: /proc/self/fd).
function Get-OpenHandleCount {
    param([Parameter(Mandatory)][string]$Directory)
    @(Get-ChildItem -LiteralPath '/proc/self/fd' -ErrorAction SilentlyContinue | Where-Object {
            try { "$($_.LinkTarget)".StartsWith($Directory) } catch { $false }
        }).Count
}

# Why the replication tests cannot run here, or $null: only when ./build.ps1 could not install nats-server
# (it then sets FLASHWAL_NATS_INSTALL_FAILED to why). A server that is merely missing fails the tests instead.
function Get-NatsUnavailableReason {
    if (-not (Get-Command -Name 'nats-server' -CommandType Application -ErrorAction SilentlyContinue) -and $env:FLASHWAL_NATS_INSTALL_FAILED) {
        return $env:FLASHWAL_NATS_INSTALL_FAILED
    }
    $null
}

# Starts a three-node NATS JetStream cluster on 127.0.0.1 (free ports, a store per node under $Directory)
# and waits until every node is a current peer of the elected meta leader: a leader alone is not enough,
# since two nodes of three elect one and a stream of three replicas then cannot be placed. Returns Urls
# (comma-separated client URLs) and the processes; Stop-TestNatsCluster kills them. A node that could not
# bind a port picked for it (taken by another process between the pick and the bind) is started again
# with new ports, at most twice; any other end of a node fails with what it printed. Only loopback addresses, ever.
function Start-TestNatsCluster {
    param([Parameter(Mandatory)][string]$Directory)
    $server = (Get-Command -Name 'nats-server' -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source
    function Get-FreePort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }
    for ($attempt = 1; ; $attempt++) {
        $root = Join-Path $Directory "attempt$attempt"
        $nodes = 1..3 | ForEach-Object { [pscustomobject]@{ Name = "n$_"; Client = Get-FreePort; Route = Get-FreePort; Monitor = Get-FreePort; Store = Join-Path $root "n$_" } }
        $routes = ($nodes | ForEach-Object { "nats-route://127.0.0.1:$($_.Route)" }) -join ', '
        $clusterName = "flashwal-pester-$([guid]::NewGuid().ToString('n').Substring(0, 12))" # its own: never merged with another cluster
        $processes = foreach ($node in $nodes) {
            New-Item -ItemType Directory -Path $node.Store -Force | Out-Null
            $config = Join-Path $node.Store 'server.conf'
            Set-Content -LiteralPath $config -Value @"
server_name: $($node.Name)
listen: 127.0.0.1:$($node.Client)
http: 127.0.0.1:$($node.Monitor)
jetstream { store_dir: "$($node.Store)" }
cluster { name: $clusterName, listen: 127.0.0.1:$($node.Route), routes: [$routes] }
"@
            Start-Process -FilePath $server -ArgumentList '-c', $config -PassThru -RedirectStandardOutput (Join-Path $node.Store 'out.log') -RedirectStandardError (Join-Path $node.Store 'err.log')
        }
        $cluster = [pscustomobject]@{ Urls = ($nodes | ForEach-Object { "nats://127.0.0.1:$($_.Client)" }) -join ','; Processes = @($processes) }
        $seen = 'no meta leader'
        $retry = $false
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while (-not $retry -and [DateTime]::UtcNow -lt $deadline) {
            for ($i = 0; $i -lt $nodes.Count; $i++) {
                if ($processes[$i].HasExited) {
                    $processes[$i].WaitForExit()
                    $printed = (@(Get-Content -LiteralPath (Join-Path $nodes[$i].Store 'err.log'), (Join-Path $nodes[$i].Store 'out.log') -ErrorAction SilentlyContinue) | Select-Object -Last 3) -join ' | '
                    Stop-TestNatsCluster $cluster
                    if ($printed -match 'address already in use' -and $attempt -lt 3) {
                        Write-Warning "Start-TestNatsCluster: $($nodes[$i].Name) could not bind its ports ($printed); starting the cluster again on other ports."
                        $retry = $true
                        break
                    }
                    throw "nats-server $($nodes[$i].Name) (client port $($nodes[$i].Client)) ended while the cluster started; it printed: $printed"
                }
            }
            if ($retry) {
                break
            }
            foreach ($node in $nodes) {
                try {
                    $meta = (Invoke-RestMethod -Uri "http://127.0.0.1:$($node.Monitor)/jsz" -TimeoutSec 2).meta_cluster
                }
                catch {
                    continue # not listening yet
                }
                if ($meta.leader -eq $node.Name) {
                    $current = @($meta.replicas | Where-Object { $_.current }).Count
                    if ($current -eq $nodes.Count - 1) {
                        return $cluster
                    }
                    $seen = "leader $($node.Name) with $current of $($nodes.Count - 1) other peers current"
                }
            }
            Start-Sleep -Milliseconds 100
        }
        if (-not $retry) {
            Stop-TestNatsCluster $cluster
            throw "The NATS cluster in '$root' did not form within 30 s ($seen)."
        }
    }
}

function Stop-TestNatsCluster {
    param([Parameter(Mandatory)]$Cluster)
    foreach ($process in $Cluster.Processes) {
        if (-not $process.HasExited) {
            $process.Kill()
            $process.WaitForExit()
        }
    }
}
