using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using PublicApiGenerator;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Conventions;

/// <summary>
/// Checks shared by the library test projects: the public API is tracked in an approved text file (changes show up in
/// review as a diff of that file), and public types follow the documentation conventions of the project.
/// </summary>
public static partial class ApiConventions
{
    /// <summary>Environment variable that makes <see cref="VerifyPublicApi"/> rewrite the approved file instead of failing.</summary>
    public const string UpdateVariable = "SSL4ECO_UPDATE_PUBLIC_API";

    /// <summary>
    /// Compares the assembly's public API (PublicApiGenerator) with <c>PublicAPI.txt</c> in its project folder under
    /// <c>src/</c>; run the tests with <see cref="UpdateVariable"/>=1 to accept a change.
    /// </summary>
    public static void VerifyPublicApi(Assembly assembly)
    {
        var name = assembly.GetName().Name!;
        var approvedPath = Path.Combine(Repo.Root, "src", name, "PublicAPI.txt");
        var actual = assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false }).Replace("\r\n", "\n") + "\n";
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            File.WriteAllText(approvedPath, actual);
            return;
        }
        Assert.True(File.Exists(approvedPath), $"{approvedPath} is missing; run the tests with {UpdateVariable}=1 to create it.");
        var approved = File.ReadAllText(approvedPath).Replace("\r\n", "\n");
        if (approved == actual) return;
        var a = approved.Split('\n');
        var b = actual.Split('\n');
        var removed = a.Except(b).Take(20).Select(l => "- " + l.Trim());
        var added = b.Except(a).Take(20).Select(l => "+ " + l.Trim());
        Assert.Fail($"The public API of {name} changed; review the lines below and run the tests with {UpdateVariable}=1 to approve:\n"
            + string.Join('\n', removed.Concat(added)));
    }

    /// <summary>
    /// Public classes and structs state their thread safety in their XML docs (NodaTime-style), and every public type and
    /// member has a summary; public methods ending in <c>Async</c> take a <see cref="CancellationToken"/>.
    /// </summary>
    public static void VerifyConventions(Assembly assembly)
    {
        var xmlPath = Path.ChangeExtension(assembly.Location, ".xml");
        Assert.True(File.Exists(xmlPath), $"XML documentation {xmlPath} is missing.");
        var docs = XDocument.Load(xmlPath).Descendants("member")
            .ToDictionary(m => (string)m.Attribute("name")!, m => m.Value);
        var problems = new List<string>();
        foreach (var type in assembly.GetExportedTypes())
        {
            var id = "T:" + type.FullName!.Replace('+', '.');
            if (!docs.TryGetValue(id, out var text)) { problems.Add($"{type.FullName}: no XML documentation"); continue; }
            bool needsSafety = (type.IsClass || (type.IsValueType && !type.IsEnum)) && !typeof(Exception).IsAssignableFrom(type)
                && !typeof(Attribute).IsAssignableFrom(type) && !typeof(Delegate).IsAssignableFrom(type);
            if (needsSafety && !ThreadSafety().IsMatch(text))
                problems.Add($"{type.FullName}: the docs do not state thread safety (say 'thread-safe', 'not thread-safe', 'immutable' or 'stateless')");
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (method.IsSpecialName || !method.Name.EndsWith("Async", StringComparison.Ordinal)) continue;
                if (!method.GetParameters().Any(p => p.ParameterType == typeof(CancellationToken)))
                    problems.Add($"{type.FullName}.{method.Name}: an async method without a CancellationToken");
            }
        }
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [GeneratedRegex(@"thread[- ]safe|immutable|stateless|not thread|single[- ]threaded|one per thread", RegexOptions.IgnoreCase)]
    private static partial Regex ThreadSafety();
}

/// <summary>
/// The two convention tests of a library's test project: derive once per library (<c>public sealed class PublicApiTests()
/// : LibraryConventionTests(typeof(SomePublicType).Assembly) { }</c>); xUnit runs the inherited facts under the derived
/// class's name, so <c>--filter FullyQualifiedName~PublicApi</c> still selects them.
/// </summary>
public abstract class LibraryConventionTests(Assembly library)
{
    [Fact]
    public void Public_api_matches_the_approved_file() => ApiConventions.VerifyPublicApi(library);

    [Fact]
    public void Public_types_document_thread_safety_and_async_methods_take_a_token() => ApiConventions.VerifyConventions(library);
}
