using System.Text.RegularExpressions;
using System.Xml.Linq;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Conventions;

/// <summary>
/// The dependency rules of docs/ARCHITECTURE.md, checked on the sources: which package may reference which, and no
/// cycle between folders (namespaces) anywhere under src/. A new arrow that breaks a rule fails here, in review.
/// </summary>
public sealed partial class DependencyRulesTests
{
    /// <summary>The packages each package may reference (project references); nothing else.</summary>
    private static readonly Dictionary<string, string[]> AllowedPackageReferences = new()
    {
        ["SSL4Eco.Inference"] = [],
        // The GDAL binding stands alone: it binds the system libgdal and references nothing of ours.
        ["SSL4Eco.Gdal"] = [],
        ["SSL4Eco.Inference.Geo"] = ["SSL4Eco.Inference", "SSL4Eco.Gdal"],
        // Training reads and writes its GeoTIFFs through the binding, not through Geo (whose packages it must not drag along).
        ["SSL4Eco.Training"] = ["SSL4Eco.Inference", "SSL4Eco.Gdal"],
        ["SSL4Eco.Cli"] = ["SSL4Eco.Inference", "SSL4Eco.Inference.Geo"],
        // The GPU tool compiles the CLI's own sources (no reference to SSL4Eco.Cli), so it references what the CLI references.
        ["SSL4Eco.Cli.Gpu"] = ["SSL4Eco.Inference", "SSL4Eco.Inference.Geo"],
        ["SSL4Eco.Training.Cli"] = ["SSL4Eco.Training"],
    };

    [Fact]
    public void Every_package_references_only_what_the_architecture_allows()
    {
        var projects = Directory.GetDirectories(Path.Combine(Repo.Root, "src")).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(AllowedPackageReferences.Keys.Order(), projects!);
        foreach (var project in projects)
        {
            var csproj = XDocument.Load(Path.Combine(Repo.Root, "src", project!, project + ".csproj"));
            var references = csproj.Descendants("ProjectReference")
                .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
                .Order().ToArray();
            var forbidden = references.Except(AllowedPackageReferences[project!]).ToArray();
            Assert.True(forbidden.Length == 0, $"{project} references {string.Join(", ", forbidden)}, which docs/ARCHITECTURE.md forbids");
        }
    }

    [Fact]
    public void Training_reaches_gdal_through_the_binding_package_and_never_through_geo()
    {
        var reached = ProjectClosure("SSL4Eco.Training");
        Assert.Contains("SSL4Eco.Gdal", reached);
        Assert.DoesNotContain("SSL4Eco.Inference.Geo", reached);
        Assert.Empty(ProjectClosure("SSL4Eco.Gdal"));
        var gdal = XDocument.Load(Path.Combine(Repo.Root, "src", "SSL4Eco.Gdal", "SSL4Eco.Gdal.csproj"));
        Assert.Empty(gdal.Descendants("PackageReference")); // no natives of its own: it binds the libgdal installed on the machine
    }

    /// <summary>Every project under src/ that <paramref name="project"/> references, directly or through another.</summary>
    private static HashSet<string> ProjectClosure(string project)
    {
        var reached = new HashSet<string>();
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var p))
            foreach (var r in XDocument.Load(Path.Combine(Repo.Root, "src", p, p + ".csproj")).Descendants("ProjectReference")
                         .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/'))))
                if (reached.Add(r)) pending.Push(r);
        return reached;
    }

    [Fact]
    public void No_two_folders_depend_on_each_other()
    {
        var graph = NamespaceGraph();
        Assert.True(graph.Count > 20, "the source scan found too few namespaces: " + graph.Count);
        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).Select(c => string.Join(" ⇄ ", c.Order())).ToArray();
        Assert.True(cycles.Length == 0, "folder cycles: " + string.Join("; ", cycles));
    }

    [Fact]
    public void The_cycle_detector_finds_a_cycle()
    {
        var graph = new Dictionary<string, HashSet<string>>
        {
            ["A"] = ["B"], ["B"] = ["C"], ["C"] = ["A"], ["D"] = ["A"],
        };
        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).ToArray();
        Assert.Equal(["A", "B", "C"], Assert.Single(cycles).Order());
    }

    [Fact]
    public void Test_projects_share_the_test_support_project_instead_of_linked_files()
    {
        var tests = Path.Combine(Repo.Root, "tests");
        var support = XDocument.Load(Path.Combine(tests, "SSL4Eco.TestSupport", "SSL4Eco.TestSupport.csproj"));
        Assert.Empty(support.Descendants("ProjectReference")); // generic: it knows no package of ours
        Assert.Equal("false", support.Descendants("IsPackable").Single().Value);
        foreach (var name in Directory.GetDirectories(tests).Select(Path.GetFileName).Where(n => n != "SSL4Eco.TestSupport"))
        {
            var csproj = XDocument.Load(Path.Combine(tests, name!, name + ".csproj"));
            Assert.Contains(csproj.Descendants("ProjectReference"), r => r.Attribute("Include")!.Value.EndsWith("/SSL4Eco.TestSupport.csproj", StringComparison.Ordinal));
            var linked = csproj.Descendants("Compile").Select(c => (string?)c.Attribute("Include") ?? "")
                .Where(i => i.Contains("PythonOracle", StringComparison.Ordinal) || i.Contains("ApiConventions", StringComparison.Ordinal) || i.Contains("RangeServer", StringComparison.Ordinal)).ToArray();
            Assert.True(linked.Length == 0, $"{name} links {string.Join(", ", linked)}; reference tests/SSL4Eco.TestSupport instead");
        }
    }

    [Fact]
    public void Only_the_fixture_script_builds_a_random_torchvision_resnet()
    {
        var sep = Path.DirectorySeparatorChar;
        const string needle = "torchvision.models" + ".resnet50("; // split, so this file does not match itself
        var builders = Directory.EnumerateFiles(Path.Combine(Repo.Root, "tests"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{sep}bin{sep}") && !f.Contains($"{sep}obj{sep}") && !f.Contains($"{sep}SSL4Eco.TestSupport{sep}"))
            .Where(f => File.ReadAllText(f).Contains(needle, StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Repo.Root, f)).ToArray();
        Assert.True(builders.Length == 0, "build the model with tests/SSL4Eco.TestSupport/python/resnet_fixture.py (import resnet_fixture), not in: " + string.Join(", ", builders));
    }

    /// <summary>
    /// Namespace → the SSL4Eco namespaces its files name (using directives, qualified names, cref), over every source
    /// file under src/. A name resolves to the longest declared namespace it starts with.
    /// </summary>
    private static Dictionary<string, HashSet<string>> NamespaceGraph()
    {
        var sep = Path.DirectorySeparatorChar;
        var files = Directory.EnumerateFiles(Path.Combine(Repo.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{sep}bin{sep}") && !f.Contains($"{sep}obj{sep}") && !f.Contains($"{sep}build{sep}"))
            .Select(f => (Text: File.ReadAllText(f), Namespace: NamespaceDeclaration().Match(File.ReadAllText(f))))
            .Where(f => f.Namespace.Success)
            .Select(f => (f.Text, Namespace: f.Namespace.Groups[1].Value))
            .ToArray();
        var declared = files.Select(f => f.Namespace).ToHashSet();
        var graph = declared.ToDictionary(n => n, _ => new HashSet<string>());
        foreach (var (text, from) in files)
            foreach (Match m in QualifiedName().Matches(text))
            {
                var to = m.Value;
                while (!declared.Contains(to) && to.Contains('.')) to = to[..to.LastIndexOf('.')];
                if (declared.Contains(to) && to != from && !to.StartsWith(from + ".", StringComparison.Ordinal)
                    && !from.StartsWith(to + ".", StringComparison.Ordinal))
                    graph[from].Add(to);
            }
        return graph;
    }

    /// <summary>Tarjan's strongly connected components.</summary>
    private static List<List<string>> StronglyConnected(Dictionary<string, HashSet<string>> graph)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<List<string>>();
        int next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph.GetValueOrDefault(v) ?? [])
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != v);
            result.Add(component);
        }

        foreach (var v in graph.Keys.ToArray())
            if (!index.ContainsKey(v)) Visit(v);
        return result;
    }

    [GeneratedRegex(@"^namespace\s+(SSL4Eco[\w.]*)\s*[;{]", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"\bSSL4Eco(?:\.\w+)+")]
    private static partial Regex QualifiedName();
}
