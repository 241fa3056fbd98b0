using System.Diagnostics;

namespace SSL4Eco.Inference.Tests.Oracle;

/// <summary>
/// Runs Debian's /usr/bin/python3 (torch 1.13, torchvision, onnx, sklearn, gdal, cv2) as an independent reference.
/// Python is a test oracle only. Scripts get their arguments in sys.argv and should write results to files
/// (npy/json) in a <see cref="TempDir"/>; stdout is returned for small answers. Scripts run with
/// <see cref="ScriptsDirectory"/> on PYTHONPATH, so they can <c>import resnet_fixture</c> (see <see cref="ResNetFixture"/>).
/// </summary>
public static class PythonOracle
{
    public const string Python = "/usr/bin/python3";

    /// <summary>The shared Python scripts (tests/SSL4Eco.TestSupport/python), importable from every oracle script.</summary>
    public static string ScriptsDirectory => Path.Combine(Repo.Root, "tests", "SSL4Eco.TestSupport", "python");

    /// <summary>Prelude prepended to every script: quiet warnings.</summary>
    private const string Prelude = "import warnings, sys\nwarnings.filterwarnings('ignore')\n";

    /// <summary>Runs the script text with the arguments; throws with Python's stderr on a non-zero exit.</summary>
    public static string Run(string script, params string[] args)
    {
        var file = Path.Combine(Path.GetTempPath(), $"ssl4eco-oracle-{Guid.NewGuid():N}.py");
        File.WriteAllText(file, Prelude + script);
        try { return RunFile(file, args); }
        finally { File.Delete(file); }
    }

    /// <summary>Runs a script file (e.g. one in <see cref="ScriptsDirectory"/>) with the arguments; throws with Python's stderr on a non-zero exit.</summary>
    public static string RunFile(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(file);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "2";
        psi.Environment["PYTHONPATH"] = ScriptsDirectory;
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1"; // no __pycache__ in the source tree
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("Could not start " + Python);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("Python oracle timed out."); }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"Python oracle failed (exit {p.ExitCode}). Is python3-torch/python3-sklearn installed (see .ci/run)?\n{stderr.Result}");
        return stdout.Result;
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() { Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ssl4eco-test-" + Guid.NewGuid().ToString("N")); Directory.CreateDirectory(Path); }
    public string Path { get; }
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

/// <summary>Locates the repository (the folder holding SSL4Eco.Inference.sln).</summary>
public static class Repo
{
    public static string Root { get; } = Find();

    public static string Samples => Path.Combine(Root, "samples");

    private static string Find()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SSL4Eco.Inference.sln"))) return d.FullName;
        throw new InvalidOperationException("Repository root (SSL4Eco.Inference.sln) not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Runs system tools the disk-full tests need (mount, umount, ln); false when the tool fails or is missing.</summary>
public static class Tmpfs
{
    public static bool Run(string file, params string[] args)
    {
        try
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, args) { RedirectStandardError = true, UseShellExecute = false })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }
}

/// <summary>A fact skipped, with the reason, where a small tmpfs cannot be mounted (mounting needs root on Linux).</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    private static readonly Lazy<bool> CanMount = new(() =>
    {
        var probe = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ssl4eco-mount-probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(probe);
        try
        {
            if (!OperatingSystem.IsLinux() || !Tmpfs.Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe)) return false;
            Tmpfs.Run("umount", probe);
            return true;
        }
        finally { Directory.Delete(probe, true); }
    });

    public TmpfsFactAttribute()
    {
        if (!CanMount.Value) Skip = "Cannot mount a tmpfs here (needs root on Linux); a full disk cannot be made without it.";
    }
}
