using System.Diagnostics;
using System.Text.Json;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Training.Tests.Conventions;

/// <summary>
/// Directory.Build.props decides which projects are libraries (packable, XML docs required, CS1591 an error) from
/// their path relative to the repository root. A clone under a folder named 'src' (e.g. ~/src/ssl4eco) once made every
/// test project a library, and the build failed with hundreds of CS1591 errors. This copies the build files of every
/// project into TEMP/src/clone/ and asks MSBuild how it classifies each one there.
/// </summary>
public sealed class ProjectClassificationTests
{
    [Fact]
    public void A_clone_under_a_folder_named_src_classifies_only_the_repository_src_projects_as_libraries()
    {
        using var temp = new TempDir();
        string clone = Path.Combine(temp.Path, "src", "clone");
        var projects = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Repo.Root, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(Repo.Root, file);
            var parts = rel.Split(Path.DirectorySeparatorChar);
            if (parts.Any(p => p is "bin" or "obj" or ".git" or "models")) continue;
            bool buildFile = rel.EndsWith(".csproj", StringComparison.Ordinal) || rel.EndsWith(".props", StringComparison.Ordinal)
                || rel.EndsWith(".targets", StringComparison.Ordinal) || parts.Contains("build") || Path.GetFileName(rel) == "README.md";
            if (!buildFile) continue;
            string target = Path.Combine(clone, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
            if (rel.EndsWith(".csproj", StringComparison.Ordinal)) projects.Add(rel);
        }
        Assert.Contains(projects, p => p.StartsWith("tests", StringComparison.Ordinal));
        Assert.Contains(projects, p => p.StartsWith("src", StringComparison.Ordinal));

        var results = projects.AsParallel().WithDegreeOfParallelism(2).Select(p => (Project: p, Props: Evaluate(Path.Combine(clone, p)))).ToList();
        foreach (var (project, props) in results)
        {
            bool library = project.StartsWith("src" + Path.DirectorySeparatorChar, StringComparison.Ordinal);
            string expected = library ? "true" : "false";
            Assert.True(string.Equals(props["IsPackable"], expected, StringComparison.OrdinalIgnoreCase),
                $"{project} under {clone}: IsPackable={props["IsPackable"]}, expected {expected}");
            Assert.True(string.Equals(props["GenerateDocumentationFile"], library ? "true" : "", StringComparison.OrdinalIgnoreCase)
                || (!library && string.Equals(props["GenerateDocumentationFile"], "false", StringComparison.OrdinalIgnoreCase)),
                $"{project} under {clone}: GenerateDocumentationFile={props["GenerateDocumentationFile"]}");
            Assert.Equal(library, props["NoWarn"].Split(';').Contains("CS1591") == false);
        }
    }

    private static Dictionary<string, string> Evaluate(string project)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "msbuild", project, "-nologo", "-getProperty:IsPackable", "-getProperty:GenerateDocumentationFile", "-getProperty:NoWarn" })
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"dotnet msbuild {project} failed (exit {p.ExitCode}): {stdout} {stderr.Result}");
        var json = JsonDocument.Parse(stdout).RootElement.GetProperty("Properties");
        return json.EnumerateObject().ToDictionary(x => x.Name, x => x.Value.GetString() ?? "");
    }
}
