using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace FlashWal.Tests.Support;

/// <summary>
/// A real NATS JetStream cluster of Debian's <c>nats-server</c> on 127.0.0.1, for the replication
/// tests (issue 17): each node on free loopback ports (client, route, monitoring), its own store
/// directory, routes to every node; started and stopped by the test, never an address outside
/// loopback. <c>build.ps1</c> installs the server (apt-get) before the tests run.
/// </summary>
public sealed class NatsCluster : IDisposable
{
    private static readonly Lazy<string?> s_server = new(FindServer);
    private readonly string _root;
    private readonly List<NatsNode> _nodes = [];

    private NatsCluster(string root) => _root = root;

    /// <summary>The nodes, in the order they were started.</summary>
    public IReadOnlyList<NatsNode> Nodes => _nodes;

    /// <summary>The client URLs of every node, comma-separated, as a client is given them for failover.</summary>
    public string Urls => string.Join(',', _nodes.Select(n => n.ClientUrl));

    /// <summary>Set by <c>build.ps1</c> to why it could not install <c>nats-server</c>.</summary>
    public const string InstallFailedVariable = "FLASHWAL_NATS_INSTALL_FAILED";

    /// <summary>
    /// Why the cluster tests are skipped here: only when <c>build.ps1</c> tried to install the server
    /// and said why it could not. A server that is simply missing fails the tests instead, naming the way on.
    /// </summary>
    public static string? Unavailable => s_server.Value is null && Environment.GetEnvironmentVariable(InstallFailedVariable) is { Length: > 0 } why
        ? why
        : null;

    /// <summary>Whether <c>nats-server</c> is on this machine.</summary>
    public static bool IsInstalled => s_server.Value is not null;

    /// <summary>
    /// Starts <paramref name="nodes"/> JetStream nodes routed to each other and waits until every one
    /// of them is a current peer of the elected meta leader. A leader alone is not enough: two nodes
    /// of three elect one, and a stream of three replicas then cannot be placed. A node that could not
    /// bind a port picked for it (another process took it between the pick and the bind) is started
    /// again with new ports, at most twice; any other end of a node fails with what it printed.
    /// </summary>
    public static NatsCluster Start(int nodes = 3, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodes, 2); // one node with routes only to itself never elects a leader
        string server = s_server.Value ?? throw new InvalidOperationException(
            $"nats-server is not installed: the project's scripts install it (build.ps1 runs 'apt-get install -y nats-server' as root); install it, or set {InstallFailedVariable} to why it cannot be to skip these tests");
        for (int attempt = 1; ; attempt++)
        {
            string root = Path.Combine(Path.GetTempPath(), "flashwal-tests", "nats-" + Guid.NewGuid().ToString("n"));
            var cluster = new NatsCluster(root);
            try
            {
                int[] routes = [.. Enumerable.Range(0, nodes).Select(_ => FreePort())];
                string name = "flashwal-" + Guid.NewGuid().ToString("n")[..12]; // a cluster of its own: never merged with another test's, should two pick a port alike
                for (int i = 0; i < nodes; i++)
                {
                    cluster._nodes.Add(new NatsNode(server, Path.Combine(root, "n" + (i + 1).ToString(CultureInfo.InvariantCulture)), "n" + (i + 1).ToString(CultureInfo.InvariantCulture), FreePort(), routes[i], FreePort(), routes, name));
                }

                cluster._nodes.ForEach(n => n.Start());
                cluster.WaitForEveryPeer(timeout ?? TimeSpan.FromSeconds(30));
                return cluster;
            }
            catch (PortTakenException e) when (attempt < 3)
            {
                Console.Error.WriteLine($"NatsCluster: {e.Message}; starting the cluster again on other ports");
                cluster.Dispose();
            }
            catch
            {
                cluster.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Waits until a node is the meta leader and sees every other node as a current peer; throws
    /// <see cref="PortTakenException"/> when a node ended because its port was taken, and names what
    /// any other node that ended printed.
    /// </summary>
    private void WaitForEveryPeer(TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        string seen = "no meta leader";
        while (waited.Elapsed < timeout)
        {
            if (_nodes.FirstOrDefault(n => !n.IsRunning) is { } ended)
            {
                string printed = ended.Printed(3);
                throw printed.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
                    ? new PortTakenException($"{ended.Name} could not bind its ports: {printed}")
                    : new InvalidOperationException($"nats-server {ended.Describe()} ended while the cluster started; it printed: {printed}");
            }

            foreach (NatsNode node in _nodes)
            {
                if (node.Jsz() is { } jsz && jsz.TryGetProperty("meta_cluster", out JsonElement meta)
                    && meta.TryGetProperty("leader", out JsonElement leader) && leader.GetString() == node.Name)
                {
                    int current = meta.TryGetProperty("replicas", out JsonElement replicas)
                        ? replicas.EnumerateArray().Count(r => r.TryGetProperty("current", out JsonElement c) && c.GetBoolean())
                        : 0;
                    if (current == _nodes.Count - 1)
                    {
                        return;
                    }

                    seen = string.Create(CultureInfo.InvariantCulture, $"leader {node.Name} with {current} of {_nodes.Count - 1} other peers current");
                }
            }

            Thread.Sleep(100);
        }

        throw new TimeoutException($"the cluster did not form within {timeout.TotalSeconds:0} s ({seen}): {string.Join(", ", _nodes.Select(n => n.Describe()))}");
    }

    /// <summary>A node of a starting cluster could not bind a port picked for it.</summary>
    private sealed class PortTakenException(string message) : Exception(message);

    /// <summary>The node that leads stream <paramref name="stream"/>, as the servers say, waiting up to 20 s for the stream and its leader to exist.</summary>
    public NatsNode StreamLeader(string stream)
    {
        var clock = Stopwatch.StartNew();
        string? why = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            var connection = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = Urls });
            try
            {
                var info = new NATS.Client.JetStream.NatsJSContext(connection).GetStreamAsync(stream).AsTask().GetAwaiter().GetResult();
                if (info.Info.Cluster?.Leader is { Length: > 0 } leader)
                {
                    return _nodes.Single(n => n.Name == leader);
                }

                why = "it has no leader yet";
            }
            catch (Exception e) when (e is NATS.Client.Core.NatsException)
            {
                why = e.Message; // not created yet, or no answer yet
            }
            finally
            {
                connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            Thread.Sleep(100);
        }

        throw new InvalidOperationException($"the stream {stream} has no leader after 20 s: {why}");
    }

    /// <summary>Kills every node this cluster started and deletes their stores.</summary>
    public void Dispose()
    {
        foreach (NatsNode node in _nodes)
        {
            node.Dispose();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindServer()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator).Append("/usr/sbin").Append("/usr/bin"))
        {
            string candidate = Path.Combine(dir, "nats-server");
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>One <c>nats-server</c> process of a <see cref="NatsCluster"/>: started, killed, paused and resumed by the test.</summary>
public sealed class NatsNode : IDisposable
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly string _server;
    private readonly string _config;
    private readonly Queue<string> _lastLines = new(); // what the server printed last, for a failure message
    private Process? _process;

    internal NatsNode(string server, string directory, string name, int clientPort, int routePort, int monitorPort, IEnumerable<int> routes, string clusterName)
    {
        _server = server;
        Name = name;
        ClientPort = clientPort;
        MonitorPort = monitorPort;
        Directory.CreateDirectory(directory);
        _config = Path.Combine(directory, "nats.conf");
        string store = Path.Combine(directory, "store");
        File.WriteAllText(_config, string.Create(CultureInfo.InvariantCulture, $$"""
            server_name: {{name}}
            listen: 127.0.0.1:{{clientPort}}
            http: 127.0.0.1:{{monitorPort}}
            jetstream {
              store_dir: "{{store}}"
            }
            cluster {
              name: {{clusterName}}
              listen: 127.0.0.1:{{routePort}}
              routes: [{{string.Join(", ", routes.Select(p => $"nats-route://127.0.0.1:{p}"))}}]
            }
            """));
    }

    /// <summary>The server name (<c>n1</c>, <c>n2</c>, …).</summary>
    public string Name { get; }

    /// <summary>The client port on 127.0.0.1.</summary>
    public int ClientPort { get; }

    /// <summary>The monitoring (HTTP) port on 127.0.0.1.</summary>
    public int MonitorPort { get; }

    /// <summary>The client URL.</summary>
    public string ClientUrl => string.Create(CultureInfo.InvariantCulture, $"nats://127.0.0.1:{ClientPort}");

    /// <summary>Whether the process runs (paused or not).</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Whether the process is stopped with SIGSTOP.</summary>
    public bool IsPaused { get; private set; }

    /// <summary>Starts the process (again, after <see cref="Kill"/>: with the same store).</summary>
    public void Start()
    {
        var start = new ProcessStartInfo(_server, ["-c", _config]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        _process = Process.Start(start) ?? throw new InvalidOperationException($"{_server} did not start");
        _process.OutputDataReceived += (_, e) => Remember(e.Data);
        _process.ErrorDataReceived += (_, e) => Remember(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        IsPaused = false;
    }

    /// <summary>Kills the process (SIGKILL) and waits for it.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            if (IsPaused)
            {
                Signal("CONT");
            }

            process.Kill();
            process.WaitForExit();
        }

        IsPaused = false;
    }

    /// <summary>Pauses the process (SIGSTOP): it holds its sockets and answers nothing.</summary>
    public void Pause()
    {
        Signal("STOP");
        IsPaused = true;
    }

    /// <summary>Resumes a paused process (SIGCONT).</summary>
    public void Resume()
    {
        Signal("CONT");
        IsPaused = false;
    }

    /// <summary>The node's <c>/jsz</c> monitoring document; null when it does not answer.</summary>
    public JsonElement? Jsz()
    {
        try
        {
            string text = s_http.GetStringAsync(new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{MonitorPort}/jsz"))).GetAwaiter().GetResult();
            using JsonDocument document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The last <paramref name="lines"/> lines the server printed (it keeps 20), one after the other.</summary>
    public string Printed(int lines = 20)
    {
        if (_process is { HasExited: true } ended)
        {
            ended.WaitForExit(); // the rest of what it printed, read to the end
        }

        lock (_lastLines)
        {
            return _lastLines.Count > 0 ? string.Join(" | ", _lastLines.TakeLast(lines)) : "nothing";
        }
    }

    /// <summary>For a failure message: name, ports, state and the server's last line.</summary>
    public string Describe()
    {
        string last;
        lock (_lastLines)
        {
            last = _lastLines.Count > 0 ? _lastLines.Last() : "nothing printed";
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"{Name} (client {ClientPort}, monitor {MonitorPort}, {(IsRunning ? IsPaused ? "paused" : "running" : "stopped")}; last: {last})");
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lastLines)
        {
            _lastLines.Enqueue(line);
            if (_lastLines.Count > 20)
            {
                _lastLines.Dequeue();
            }
        }
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        _process = null;
    }

    private void Signal(string signal)
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }
}
