using System.Security.Cryptography;
using SSL4Eco.Cli.Tests.Commands;

namespace SSL4Eco.Cli.Tests.Hostile;

/// <summary>
/// The reliability suite's one assertion: run the CLI on a hostile or faulty input and check what a user sees and what
/// is left on disk. Every hostile test goes through <see cref="Run"/>, so each case proves the same four things:
/// the exit code; no file the user gave changed (SHA-256 before and after); an error is one line that names the
/// problem, with no stack trace or .NET wording; and no litter (hidden temporaries or half-written files) is left
/// in the watched folder.
/// </summary>
public static class HostileRun
{
    /// <summary>Runs <paramref name="args"/> and asserts the outcome; returns stdout and stderr for further checks.</summary>
    /// <param name="protectedFiles">Files the command must not change (its inputs and anything the user owns).</param>
    /// <param name="watchedFolder">A folder in which, afterwards, only <paramref name="allowedAfter"/> and the protected files may exist.</param>
    public static (string Out, string Err) Run(int expectedExit, IEnumerable<string> protectedFiles, string? watchedFolder,
        IEnumerable<string>? allowedAfter, string? errorMustMention, params string[] args)
    {
        var files = protectedFiles.Select(Path.GetFullPath).ToArray();
        var before = files.ToDictionary(f => f, Hash);
        var (exit, stdout, stderr) = CliHarness.Run(args);
        string context = $"ssl4eco {string.Join(' ', args)}\nexit {exit}\nstdout:\n{stdout}\nstderr:\n{stderr}";

        Assert.True(exit == expectedExit, $"expected exit {expectedExit}\n{context}");
        foreach (var f in files)
            Assert.True(before[f] == Hash(f), $"input changed: {f}\n{context}");
        AssertNoStackTrace(stderr, context);
        AssertNoStackTrace(stdout, context);
        if (expectedExit != 0)
        {
            var errors = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
            Assert.True(errors.Length >= 1, $"no 'error:' line\n{context}");
            if (errorMustMention is not null)
                Assert.True(errors.Any(l => l.Contains(errorMustMention, StringComparison.OrdinalIgnoreCase)),
                    $"no error line mentions '{errorMustMention}'\n{context}");
        }
        if (watchedFolder is not null)
        {
            var allowed = new HashSet<string>((allowedAfter ?? []).Concat(files).Select(Path.GetFullPath));
            // Any file not allowed is litter; files under an allowed folder are fine unless they are our temporaries.
            var litter = Directory.EnumerateFiles(watchedFolder, "*", SearchOption.AllDirectories)
                .Select(Path.GetFullPath)
                .Where(p => !allowed.Contains(p))
                .Where(p => IsHiddenOrTemp(p) || !allowed.Any(a => p.StartsWith(a + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
                .ToArray();
            Assert.True(litter.Length == 0, $"left behind: {string.Join(", ", litter)}\n{context}");
        }
        return (stdout, stderr);
    }

    /// <summary>SHA-256 of a file, or "absent".</summary>
    public static string Hash(string path) => File.Exists(path) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))) : "absent";

    private static bool IsHiddenOrTemp(string p)
    {
        var name = Path.GetFileName(p);
        return name.StartsWith('.') || name.EndsWith(".tmp", StringComparison.OrdinalIgnoreCase) || name.Contains(".partial", StringComparison.Ordinal);
    }

    private static void AssertNoStackTrace(string text, string context)
    {
        foreach (var marker in new[] { "   at ", "Exception:", "(Parameter '", "Unhandled exception", "System." })
            Assert.False(text.Contains(marker, StringComparison.Ordinal), $"internal detail '{marker.Trim()}' shown to the user\n{context}");
    }
}
