using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace FlashWal.Tests;

/// <summary>
/// The PowerShell module's contract, checked without PowerShell: FlashWal.PowerShell.dll is read with
/// <see cref="MetadataLoadContext"/> (never executed) and compared with FlashWal.psd1, the MAML help
/// next to the dll, the format files and Directory.Build.props.
/// </summary>
public sealed partial class ModuleContractTests : IClassFixture<ModuleContractTests.ModuleFacts>
{
    /// <summary>The verbs of VerbsCommon, VerbsData, VerbsLifecycle, VerbsDiagnostic, VerbsCommunications, VerbsSecurity and VerbsOther (Get-Verb).</summary>
    private static readonly HashSet<string> ApprovedVerbs = new(StringComparer.Ordinal)
    {
        // VerbsCommon
        "Add", "Clear", "Close", "Copy", "Enter", "Exit", "Find", "Format", "Get", "Hide", "Join", "Lock", "Move",
        "New", "Open", "Optimize", "Pop", "Push", "Redo", "Remove", "Rename", "Reset", "Resize", "Search", "Select",
        "Set", "Show", "Skip", "Split", "Step", "Switch", "Undo", "Unlock", "Watch",
        // VerbsData
        "Backup", "Checkpoint", "Compare", "Compress", "Convert", "ConvertFrom", "ConvertTo", "Dismount", "Edit",
        "Expand", "Export", "Group", "Import", "Initialize", "Limit", "Merge", "Mount", "Out", "Publish", "Restore",
        "Save", "Sync", "Unpublish", "Update",
        // VerbsLifecycle
        "Approve", "Assert", "Build", "Complete", "Confirm", "Deny", "Deploy", "Disable", "Enable", "Install", "Invoke",
        "Register", "Request", "Restart", "Resume", "Start", "Stop", "Submit", "Suspend", "Uninstall", "Unregister", "Wait",
        // VerbsDiagnostic
        "Debug", "Measure", "Ping", "Repair", "Resolve", "Test", "Trace",
        // VerbsCommunications
        "Connect", "Disconnect", "Read", "Receive", "Send", "Write",
        // VerbsSecurity
        "Block", "Grant", "Protect", "Revoke", "Unblock", "Unprotect",
        // VerbsOther
        "Use",
    };

    /// <summary>Verbs of cmdlets that change files or state: they must support -WhatIf and -Confirm.</summary>
    private static readonly HashSet<string> ChangingVerbs = new(StringComparer.Ordinal)
    {
        "New", "Set", "Remove", "Repair", "Start", "Stop", "Clear", "Write", "Reset", "Invoke", "Checkpoint", "Move", "Rename",
    };

    /// <summary>Parameters PowerShell adds to every cmdlet; help may describe them, the cmdlet does not declare them.</summary>
    /// <remarks>
    /// Not -WhatIf and -Confirm: PowerShell adds those only to a cmdlet that supports ShouldProcess, and
    /// what they do differs per cmdlet, so its help must describe them (and no other cmdlet's may).
    /// </remarks>
    private static readonly HashSet<string> CommonParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable",
        "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable",
    };

    /// <summary>The parameters PowerShell adds to a cmdlet that declares SupportsShouldProcess.</summary>
    private static readonly string[] RiskParameters = ["WhatIf", "Confirm"];

    /// <summary>
    /// Error ids of the engine that no cmdlet raises, and why; every other id of the engine and of the
    /// module must be documented in the help of a cmdlet.
    /// </summary>
    private static readonly Dictionary<string, string> EngineOnlyErrorIds = new(StringComparer.Ordinal)
    {
        ["WalPathNotAFile"] = "raised where a segment file is required (SegmentReader.Open, WalRecovery.OpenSegment); every cmdlet takes files and directories alike",
        ["WalEventIdNotIncreasing"] = "raised by WalRecorder.Append with an explicit event id; the cmdlets let the recorder number events",
        ["WalQueueFull"] = "raised by a fail-fast WalRecorderHost queue; the cmdlets' recorders block a producer instead",
        ["WalSyncFailed"] = "a failed sync stops the recorder inside its host; the cmdlets report that as WalEventNotAppended or WalRecorderCloseFailed, whose inner exception it is",
    };

    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    private readonly ModuleFacts _module;

    public ModuleContractTests(ModuleFacts module)
    {
        _module = module;
    }

    [Fact]
    public void The_module_assembly_defines_cmdlets()
    {
        Assert.True(_module.Cmdlets.Count > 0, $"no class with [Cmdlet] was found in {_module.AssemblyPath}");
    }

    [Fact]
    public void Every_class_that_derives_from_Cmdlet_has_a_Cmdlet_attribute_and_is_public()
    {
        var problems = new List<string>();
        problems.AddRange(_module.UnattributedCmdletClasses.Select(t => $"{t} derives from Cmdlet but has no [Cmdlet] attribute, so PowerShell never exposes it"));
        problems.AddRange(_module.Cmdlets.Where(c => !c.IsPublic).Select(c => $"{c.Name} ({c.TypeName}) is not public, so PowerShell cannot export it"));
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void The_manifest_exports_exactly_the_cmdlets_the_assembly_defines()
    {
        IReadOnlyList<string> exported = _module.Manifest.List("CmdletsToExport");
        Assert.True(!exported.Any(e => e.Contains('*', StringComparison.Ordinal)), $"CmdletsToExport in FlashWal.psd1 must list cmdlets by name, not by wildcard: {string.Join(", ", exported)}");
        var defined = _module.Cmdlets.Select(c => c.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var listed = exported.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var notExported = defined.Except(listed, StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList();
        var notDefined = listed.Except(defined, StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList();
        Assert.True(notExported.Count == 0, $"cmdlets defined in FlashWal.PowerShell.dll but missing from CmdletsToExport in FlashWal.psd1: {string.Join(", ", notExported)}");
        Assert.True(notDefined.Count == 0, $"CmdletsToExport in FlashWal.psd1 lists cmdlets that FlashWal.PowerShell.dll does not define: {string.Join(", ", notDefined)}");
        Assert.True(exported.Count == listed.Count, $"CmdletsToExport lists a cmdlet twice: {string.Join(", ", exported)}");
    }

    [Theory]
    [InlineData("FunctionsToExport")]
    [InlineData("AliasesToExport")]
    [InlineData("VariablesToExport")]
    public void The_manifest_lists_other_exports_explicitly(string key)
    {
        Assert.True(_module.Manifest.Has(key), $"FlashWal.psd1 has no {key}; without it PowerShell exports everything");
        IReadOnlyList<string> listed = _module.Manifest.List(key);
        Assert.True(!listed.Any(e => e.Contains('*', StringComparison.Ordinal)), $"{key} in FlashWal.psd1 must not use a wildcard: {string.Join(", ", listed)}");
    }

    [Fact]
    public void The_manifest_root_module_is_the_module_assembly()
    {
        Assert.Equal(Path.GetFileName(_module.AssemblyPath), _module.Manifest.Scalar("RootModule"));
    }

    [Fact]
    public void Cmdlet_verbs_are_approved()
    {
        var problems = _module.Cmdlets.Where(c => !ApprovedVerbs.Contains(c.Verb))
            .Select(c => $"{c.Name} ({c.TypeName}): '{c.Verb}' is not an approved verb (see Get-Verb)").ToList();
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Cmdlet_nouns_start_with_Wal()
    {
        var problems = _module.Cmdlets.Where(c => !c.Noun.StartsWith("Wal", StringComparison.Ordinal))
            .Select(c => $"{c.Name} ({c.TypeName}): the noun '{c.Noun}' does not start with 'Wal'").ToList();
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Every_cmdlet_declares_its_output_type()
    {
        var problems = _module.Cmdlets.Where(c => c.OutputTypes.Count == 0)
            .Select(c => $"{c.Name} ({c.TypeName}) has no [OutputType] attribute").ToList();
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Cmdlets_that_change_files_support_WhatIf_and_Confirm()
    {
        var problems = _module.Cmdlets.Where(c => ChangingVerbs.Contains(c.Verb) && !c.SupportsShouldProcess)
            .Select(c => $"{c.Name} ({c.TypeName}) changes files or state ('{c.Verb}') but does not declare SupportsShouldProcess = true").ToList();
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void The_help_file_is_next_to_the_module_assembly()
    {
        Assert.True(File.Exists(_module.HelpPath), $"the MAML help file '{_module.HelpPath}' does not exist next to {_module.AssemblyPath}");
    }

    [Fact]
    public void The_help_describes_every_cmdlet_its_parameters_and_examples()
    {
        XDocument help = XDocument.Load(_module.HelpPath);
        var commands = help.Root!.Elements(Command + "command")
            .GroupBy(c => Text(c.Element(Command + "details")?.Element(Command + "name")), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        foreach (CmdletFacts cmdlet in _module.Cmdlets)
        {
            if (!commands.TryGetValue(cmdlet.Name, out List<XElement>? entries))
            {
                problems.Add($"{cmdlet.Name}: no <command:command> in {Path.GetFileName(_module.HelpPath)}");
                continue;
            }

            if (entries.Count > 1)
            {
                problems.Add($"{cmdlet.Name}: {entries.Count} <command:command> entries; there must be one");
            }

            XElement entry = entries[0];
            if (Paragraphs(entry.Element(Command + "details")?.Element(Maml + "description")).Length == 0)
            {
                problems.Add($"{cmdlet.Name}: no synopsis (<command:details>/<maml:description>)");
            }

            if (Paragraphs(entry.Element(Maml + "description")).Length == 0)
            {
                problems.Add($"{cmdlet.Name}: no description (<maml:description>)");
            }

            var described = (entry.Element(Command + "parameters")?.Elements(Command + "parameter") ?? [])
                .ToDictionary(p => Text(p.Element(Maml + "name")), p => Paragraphs(p.Element(Maml + "description")), StringComparer.OrdinalIgnoreCase);
            foreach (string parameter in cmdlet.Parameters.Concat(cmdlet.SupportsShouldProcess ? RiskParameters : []))
            {
                if (!described.TryGetValue(parameter, out string? text))
                {
                    problems.Add($"{cmdlet.Name}: parameter -{parameter} is not described in <command:parameters>");
                }
                else if (text.Length == 0)
                {
                    problems.Add($"{cmdlet.Name}: parameter -{parameter} has an empty description");
                }
            }

            foreach (string parameter in described.Keys.Where(p => !cmdlet.Parameters.Contains(p, StringComparer.OrdinalIgnoreCase) && !CommonParameters.Contains(p)
                && !(cmdlet.SupportsShouldProcess && RiskParameters.Contains(p, StringComparer.OrdinalIgnoreCase))))
            {
                problems.Add($"{cmdlet.Name}: the help describes -{parameter}, which the cmdlet does not have");
            }

            // Get-Help's syntax is read from the syntax items: each must offer what the cmdlet accepts in every set.
            if (cmdlet.SupportsShouldProcess)
            {
                foreach (XElement syntax in entry.Element(Command + "syntax")?.Elements(Command + "syntaxItem") ?? [])
                {
                    var listed = syntax.Elements(Command + "parameter").Select(p => Text(p.Element(Maml + "name"))).ToHashSet(StringComparer.OrdinalIgnoreCase);
                    foreach (string risk in RiskParameters.Where(r => !listed.Contains(r)))
                    {
                        problems.Add($"{cmdlet.Name}: a syntax item of the help lacks -{risk}, which the cmdlet supports (SupportsShouldProcess)");
                    }
                }
            }

            var examples = (entry.Element(Command + "examples")?.Elements(Command + "example") ?? []).ToList();
            if (examples.Count < 2)
            {
                problems.Add($"{cmdlet.Name}: {examples.Count} example(s) in the help; at least two are needed");
            }

            foreach (XElement example in examples.Where(e => Text(e.Element(Dev + "code")).Length == 0))
            {
                problems.Add($"{cmdlet.Name}: the example '{Text(example.Element(Maml + "title"))}' has no code");
            }
        }

        var defined = _module.Cmdlets.Select(c => c.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        problems.AddRange(commands.Keys.Where(k => !defined.Contains(k)).Select(k => $"the help has an entry for '{k}', which the module does not define"));
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Every_error_id_a_cmdlet_can_raise_is_documented_in_the_help()
    {
        Dictionary<string, IReadOnlySet<string>> documented = DocumentedErrorIds();
        var named = documented.Values.SelectMany(ids => ids).ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (string id in _module.KnownErrorIds.Where(id => !EngineOnlyErrorIds.ContainsKey(id) && !named.Contains(id)).Order(StringComparer.Ordinal))
        {
            problems.Add($"the error id {id} is raised by the engine or the module but no cmdlet's help names it (add it to the help of the cmdlets that raise it, or to {nameof(EngineOnlyErrorIds)} with the reason no cmdlet can)");
        }

        foreach (string id in EngineOnlyErrorIds.Keys.Where(id => !_module.KnownErrorIds.Contains(id) || named.Contains(id)))
        {
            problems.Add($"{nameof(EngineOnlyErrorIds)} lists {id}, which {(named.Contains(id) ? "a cmdlet's help names" : "nothing raises")}: remove it from the list");
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Each_error_id_in_the_help_has_its_category()
    {
        // "WalPathNotFound (ObjectNotFound)" or "(ObjectNotFound, non-terminating)" or "(InvalidData: why)": a script
        // can match the id and know the category; "A and B (Category)" gives two ids one category.
        var problems = new List<string>();
        foreach ((string cmdlet, string text) in ErrorParagraphs())
        {
            foreach (string id in _module.KnownErrorIds.Where(id => Regex.IsMatch(text, $@"\b{id}\b", RegexOptions.CultureInvariant)))
            {
                Match category = Regex.Match(text, $@"\b{id}(?: and Wal[A-Za-z]+)? \((?<category>[A-Za-z]+)[,:)]", RegexOptions.CultureInvariant);
                if (!category.Success)
                {
                    problems.Add($"{cmdlet}: the help names the error id {id} without its category in parentheses");
                }
                else if (!_module.ErrorCategories.Contains(category.Groups["category"].Value))
                {
                    problems.Add($"{cmdlet}: the help gives the error id {id} the category '{category.Groups["category"].Value}', which is no ErrorCategory");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void The_README_error_table_lists_each_cmdlets_error_ids_as_its_help_does()
    {
        string readme = File.ReadAllText(Path.Combine(_module.RepositoryRoot, "README.md"));
        Match section = Regex.Match(readme, @"(?ms)^### Error ids\s*$(?<body>.*?)(?=^#)", RegexOptions.CultureInvariant);
        Assert.True(section.Success, "README.md has no '### Error ids' section");
        var rows = Regex.Matches(section.Groups["body"].Value, @"(?m)^\| `(?<cmdlet>[A-Za-z]+-[A-Za-z]+)` \| (?<ids>.*) \|\s*$", RegexOptions.CultureInvariant)
            .ToDictionary(m => m.Groups["cmdlet"].Value, m => Regex.Matches(m.Groups["ids"].Value, "`(Wal[A-Za-z]+)`").Select(i => i.Groups[1].Value).ToHashSet(StringComparer.Ordinal), StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        foreach ((string cmdlet, IReadOnlySet<string> help) in DocumentedErrorIds())
        {
            if (!rows.TryGetValue(cmdlet, out HashSet<string>? listed))
            {
                problems.Add($"README.md's error table has no row for {cmdlet}");
                continue;
            }

            problems.AddRange(help.Except(listed).Order(StringComparer.Ordinal).Select(id => $"README.md's error table omits {id} for {cmdlet}, which its help names"));
            problems.AddRange(listed.Except(help).Order(StringComparer.Ordinal).Select(id => $"README.md's error table lists {id} for {cmdlet}, which its help does not name"));
        }

        problems.AddRange(rows.Keys.Where(k => _module.Cmdlets.All(c => !c.Name.Equals(k, StringComparison.OrdinalIgnoreCase))).Select(k => $"README.md's error table has a row for {k}, which the module does not define"));
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    /// <summary>Each cmdlet's description paragraphs (where the help lists errors), by cmdlet name.</summary>
    private IEnumerable<(string Cmdlet, string Text)> ErrorParagraphs()
    {
        XDocument help = XDocument.Load(_module.HelpPath);
        foreach (XElement entry in help.Root!.Elements(Command + "command"))
        {
            yield return (Text(entry.Element(Command + "details")?.Element(Command + "name")), Paragraphs(entry.Element(Maml + "description")));
        }
    }

    /// <summary>The known error ids each cmdlet's help names in its description, by cmdlet name.</summary>
    private Dictionary<string, IReadOnlySet<string>> DocumentedErrorIds() =>
        ErrorParagraphs().ToDictionary(
            p => p.Cmdlet,
            p => (IReadOnlySet<string>)Regex.Matches(p.Text, @"\bWal[A-Z][A-Za-z]+\b").Select(m => m.Value).Where(_module.KnownErrorIds.Contains).ToHashSet(StringComparer.Ordinal),
            StringComparer.OrdinalIgnoreCase);

    [Fact]
    public void Module_props_and_assembly_versions_agree()
    {
        string moduleVersion = _module.Manifest.Scalar("ModuleVersion");
        Assert.True(Version.TryParse(moduleVersion, out Version? manifest), $"ModuleVersion '{moduleVersion}' in FlashWal.psd1 is not a version");

        XDocument props = XDocument.Load(Path.Combine(_module.RepositoryRoot, "Directory.Build.props"));
        string propsVersion = Text(props.Descendants("Version").FirstOrDefault());
        Assert.True(propsVersion.Length > 0, "Directory.Build.props has no <Version>");
        int suffix = propsVersion.IndexOfAny(['-', '+']);
        string numeric = suffix < 0 ? propsVersion : propsVersion[..suffix];
        Assert.True(Version.TryParse(numeric, out Version? project), $"<Version>{propsVersion}</Version> in Directory.Build.props is not a version");
        Assert.True(Normalize(manifest!) == Normalize(project!),
            $"ModuleVersion '{moduleVersion}' in FlashWal.psd1 differs from <Version>{propsVersion}</Version> in Directory.Build.props");
        if (suffix >= 0 && propsVersion[suffix] == '-')
        {
            string prerelease = propsVersion[(suffix + 1)..].Split('+')[0];
            Assert.True(_module.Manifest.Has("Prerelease") && _module.Manifest.Scalar("Prerelease") == prerelease,
                $"<Version>{propsVersion}</Version> is a prerelease; FlashWal.psd1 needs PrivateData.PSData.Prerelease = '{prerelease}'");
        }

        Assert.True(Normalize(_module.AssemblyVersion) == Normalize(manifest!),
            $"FlashWal.PowerShell.dll has assembly version {_module.AssemblyVersion}; FlashWal.psd1 says ModuleVersion '{moduleVersion}'");
    }

    [Fact]
    public void Format_files_exist_and_define_views()
    {
        IReadOnlyList<string> formats = _module.Manifest.List("FormatsToProcess");
        Assert.True(formats.Count > 0, "FlashWal.psd1 lists no FormatsToProcess");
        foreach (string format in formats)
        {
            string path = Path.Combine(_module.RepositoryRoot, format);
            Assert.True(File.Exists(path), $"FormatsToProcess lists '{format}', which does not exist at {path}");
            XDocument document = XDocument.Load(path);
            Assert.True(document.Descendants("View").Any(), $"'{format}' defines no <View>");
            foreach (XElement view in document.Descendants("View"))
            {
                Assert.True(view.Element("ViewSelectedBy")?.Elements("TypeName").Any() == true, $"'{format}': the view '{Text(view.Element("Name"))}' selects no type");
            }
        }
    }

    /// <summary>
    /// Every engine type the scripts name (a format file's selected types and script blocks, the Pester
    /// tests, the examples) exists and is public: a type moved to another namespace would otherwise leave
    /// its default view unused, or a script's <c>[FlashWal.X.Y]</c> failing only when it runs.
    /// </summary>
    [Fact]
    public void Types_named_by_format_files_and_scripts_exist_in_the_engine()
    {
        Assembly[] assemblies = [typeof(Errors.WalException).Assembly, typeof(FlashWal.Replication.LogShipper).Assembly];
        IEnumerable<string> files = _module.Manifest.List("FormatsToProcess").Select(f => Path.Combine(_module.RepositoryRoot, f))
            .Concat(Directory.GetFiles(Path.Combine(_module.RepositoryRoot, "tests", "Pester"), "*.ps1"))
            .Concat(Directory.GetFiles(Path.Combine(_module.RepositoryRoot, "examples"), "*.ps1"));
        var missing = new List<string>();
        int named = 0;
        foreach (string file in files)
        {
            foreach (Match m in EngineTypeName().Matches(File.ReadAllText(file)))
            {
                named++;
                string name = m.Groups["type"].Value;
                if (!assemblies.Any(a => a.GetType(name) is { IsPublic: true }))
                {
                    missing.Add($"{name} (in {Path.GetFileName(file)})");
                }
            }
        }

        Assert.True(named > 10, $"only {named} engine type names found: the pattern no longer matches the files");
        Assert.True(missing.Count == 0, "named but not a public type of the engine or the replication library: " + string.Join("; ", missing.Distinct()));
    }

    [GeneratedRegex(@"(?<![\w.])(?<type>FlashWal\.(?!PowerShell\b)[A-Z]\w*\.[A-Z]\w*)(?=\]|<|\s|$)", RegexOptions.CultureInvariant)]
    private static partial Regex EngineTypeName();

    private static (int Major, int Minor, int Build, int Revision) Normalize(Version version) =>
        (version.Major, version.Minor, Math.Max(version.Build, 0), Math.Max(version.Revision, 0));

    private static string Text(XElement? element) => element?.Value.Trim() ?? string.Empty;

    private static string Paragraphs(XElement? description) =>
        description is null ? string.Empty : string.Join(" ", description.Elements(Maml + "para").Select(p => p.Value.Trim())).Trim();

    /// <summary>What the tests need to know about one cmdlet, read once from metadata.</summary>
    public sealed record CmdletFacts(
        string TypeName,
        bool IsPublic,
        string Verb,
        string Noun,
        bool SupportsShouldProcess,
        IReadOnlyList<string> OutputTypes,
        IReadOnlyList<string> Parameters)
    {
        public string Name => $"{Verb}-{Noun}";
    }

    /// <summary>Reads the module assembly once (through a <see cref="MetadataLoadContext"/>) and the manifest.</summary>
    public sealed class ModuleFacts
    {
        private const string Sma = "System.Management.Automation.";

        public ModuleFacts()
        {
            RepositoryRoot = FindRepositoryRoot();
            AssemblyPath = Path.Combine(AppContext.BaseDirectory, "FlashWal.PowerShell.dll");
            HelpPath = Path.Combine(Path.GetDirectoryName(AssemblyPath)!, "en-US", "FlashWal.PowerShell.dll-Help.xml");
            Manifest = new Psd1(File.ReadAllText(Path.Combine(RepositoryRoot, "FlashWal.psd1")));

            string automation = Path.Combine(AppContext.BaseDirectory, "psref", "System.Management.Automation.dll");
            if (!File.Exists(automation))
            {
                throw new FileNotFoundException($"The System.Management.Automation reference assembly is missing at {automation}; FlashWal.Tests.csproj copies it from the PowerShellStandard.Library package.", automation);
            }

            var paths = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll").ToList();
            paths.Add(AssemblyPath);
            paths.Add(Path.Combine(AppContext.BaseDirectory, "FlashWal.Engine.dll"));
            paths.AddRange(Directory.GetFiles(AppContext.BaseDirectory, "FlashWal.Replication.dll"));
            paths.AddRange(Directory.GetFiles(AppContext.BaseDirectory, "NATS.*.dll"));
            paths.AddRange(Directory.GetFiles(AppContext.BaseDirectory, "Microsoft.Extensions.*.dll"));
            paths.Add(automation);
            using var context = new MetadataLoadContext(new PathAssemblyResolver(paths));
            Assembly module = context.LoadFromAssemblyPath(AssemblyPath);
            AssemblyVersion = module.GetName().Version ?? new Version(0, 0);

            var cmdlets = new List<CmdletFacts>();
            var unattributed = new List<string>();
            foreach (Type type in module.GetTypes().Where(t => t.IsClass && !t.IsAbstract))
            {
                CustomAttributeData? cmdlet = type.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == Sma + "CmdletAttribute");
                if (cmdlet is null)
                {
                    if (DerivesFrom(type, Sma + "Cmdlet"))
                    {
                        unattributed.Add(type.FullName!);
                    }

                    continue;
                }

                bool shouldProcess = cmdlet.NamedArguments.Any(a => a.MemberName == "SupportsShouldProcess" && a.TypedValue.Value is true);
                var outputTypes = type.GetCustomAttributesData()
                    .Where(a => a.AttributeType.FullName == Sma + "OutputTypeAttribute")
                    .SelectMany(a => a.ConstructorArguments)
                    .SelectMany(Values)
                    .ToList();
                var parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                    .Where(p => p.GetCustomAttributesData().Any(a => a.AttributeType.FullName == Sma + "ParameterAttribute"))
                    .Select(p => p.Name)
                    .Distinct(StringComparer.Ordinal)
                    .ToList();
                cmdlets.Add(new CmdletFacts(
                    type.FullName!,
                    type.IsPublic,
                    (string)cmdlet.ConstructorArguments[0].Value!,
                    (string)cmdlet.ConstructorArguments[1].Value!,
                    shouldProcess,
                    outputTypes,
                    parameters));
            }

            Cmdlets = cmdlets;
            UnattributedCmdletClasses = unattributed;

            // The module's own error ids (its *ErrorId constants) and every engine exception's ErrorId.
            var known = module.GetTypes()
                .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
                .Where(f => f.IsLiteral && f.Name.EndsWith("ErrorId", StringComparison.Ordinal))
                .Select(f => (string)f.GetRawConstantValue()!)
                .ToHashSet(StringComparer.Ordinal);
            foreach (Type type in new[] { typeof(Errors.WalException).Assembly, typeof(FlashWal.Replication.LogShipper).Assembly }
                .SelectMany(a => a.GetTypes()).Where(t => !t.IsAbstract && typeof(Errors.WalException).IsAssignableFrom(t)))
            {
                // ErrorId is a constant per type; an uninitialized instance answers it without a constructor's arguments.
                // An exception that carries one of several ids (replication's) names each in an *ErrorId constant instead.
                var instance = (Errors.WalException)System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(type);
                if (instance.ErrorId is { } id)
                {
                    known.Add(id);
                }

                known.UnionWith(type.GetFields(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly)
                    .Where(f => f.IsLiteral && f.Name.EndsWith("ErrorId", StringComparison.Ordinal))
                    .Select(f => (string)f.GetRawConstantValue()!));
            }

            KnownErrorIds = known;
            ErrorCategories = context.LoadFromAssemblyPath(automation).GetType(Sma + "ErrorCategory", throwOnError: true)!
                .GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        }

        public string RepositoryRoot { get; }

        public string AssemblyPath { get; }

        public string HelpPath { get; }

        public Version AssemblyVersion { get; }

        public Psd1 Manifest { get; }

        public IReadOnlyList<CmdletFacts> Cmdlets { get; }

        public IReadOnlyList<string> UnattributedCmdletClasses { get; }

        /// <summary>Every error id the engine's exceptions and the module's cmdlets can carry.</summary>
        public IReadOnlySet<string> KnownErrorIds { get; }

        /// <summary>The names of PowerShell's ErrorCategory values.</summary>
        public IReadOnlySet<string> ErrorCategories { get; }

        private static IEnumerable<string> Values(CustomAttributeTypedArgument argument) => argument.Value switch
        {
            IReadOnlyCollection<CustomAttributeTypedArgument> items => items.SelectMany(Values),
            Type type => [type.FullName!],
            string name => [name],
            _ => [],
        };

        private static bool DerivesFrom(Type type, string baseName)
        {
            for (Type? t = type.BaseType; t is not null; t = t.BaseType)
            {
                if (t.FullName == baseName)
                {
                    return true;
                }
            }

            return false;
        }

        private static string FindRepositoryRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "FlashWal.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new DirectoryNotFoundException($"No directory above {AppContext.BaseDirectory} holds FlashWal.sln.");
        }
    }

    /// <summary>
    /// Just enough of a PowerShell data file for the manifest's keys: <c>Key = 'value'</c> and
    /// <c>Key = @('a', 'b')</c>, comments ignored.
    /// </summary>
    public sealed partial class Psd1
    {
        private readonly string _text;

        public Psd1(string text)
        {
            _text = BlockComment().Replace(text, string.Empty);
            _text = LineComment().Replace(_text, string.Empty);
        }

        public bool Has(string key) => Regex.IsMatch(_text, $@"(?m)^\s*{Regex.Escape(key)}\s*=", RegexOptions.CultureInvariant);

        public string Scalar(string key)
        {
            Match match = Regex.Match(_text, $@"(?m)^\s*{Regex.Escape(key)}\s*=\s*(?:'(?<v>[^']*)'|""(?<v>[^""]*)"")", RegexOptions.CultureInvariant);
            return match.Success ? match.Groups["v"].Value : throw new KeyNotFoundException(string.Create(CultureInfo.InvariantCulture, $"FlashWal.psd1 has no string value for {key}"));
        }

        public IReadOnlyList<string> List(string key)
        {
            Match match = Regex.Match(_text, $@"(?ms)^\s*{Regex.Escape(key)}\s*=\s*(?:@\((?<v>[^)]*)\)|(?<v>'[^']*'|""[^""]*""))", RegexOptions.CultureInvariant);
            if (!match.Success)
            {
                throw new KeyNotFoundException($"FlashWal.psd1 has no list for {key}");
            }

            return Item().Matches(match.Groups["v"].Value).Select(m => m.Groups["v"].Value).ToList();
        }

        [GeneratedRegex(@"<#.*?#>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
        private static partial Regex BlockComment();

        [GeneratedRegex(@"(?m)^\s*#.*$", RegexOptions.CultureInvariant)]
        private static partial Regex LineComment();

        [GeneratedRegex(@"'(?<v>[^']*)'|""(?<v>[^""]*)""", RegexOptions.CultureInvariant)]
        private static partial Regex Item();
    }
}
