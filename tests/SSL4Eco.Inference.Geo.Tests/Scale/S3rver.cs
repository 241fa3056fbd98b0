using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SSL4Eco.Inference.Geo.Tests.Scale;

/// <summary>
/// A real S3-compatible server for tests: the npm package s3rver 3.7.1 under Debian's nodejs (installed by .ci/run into
/// $SSL4ECO_TOOLS, default ~/.cache/ssl4eco-tools), started on 127.0.0.1 with a free port and a fresh data folder, bucket
/// 'bkt'. GDAL reaches it through /vsis3/ with the <see cref="Environment"/> below (AWS_S3_ENDPOINT, AWS_HTTPS=NO,
/// AWS_VIRTUAL_HOSTING=FALSE and s3rver's fixed test credentials). Also compiled into the CLI tests.
/// </summary>
public sealed class S3rver : IDisposable
{
    private readonly Process _process;

    public static string? Script
    {
        get
        {
            var tools = System.Environment.GetEnvironmentVariable("SSL4ECO_TOOLS")
                ?? Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".cache", "ssl4eco-tools");
            var script = Path.Combine(tools, "node_modules", "s3rver", "bin", "s3rver.js");
            return File.Exists(script) && File.Exists("/usr/bin/node") ? script : null;
        }
    }

    public string DataFolder { get; } = Directory.CreateTempSubdirectory("s3rver-").FullName;
    public int Port { get; }
    public string Bucket => "bkt";

    /// <summary>The variables a child process (or GDAL in this process) needs to reach the server.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["AWS_S3_ENDPOINT"] = $"127.0.0.1:{Port}",
        ["AWS_HTTPS"] = "NO",
        ["AWS_VIRTUAL_HOSTING"] = "FALSE",
        ["AWS_ACCESS_KEY_ID"] = "S3RVER",
        ["AWS_SECRET_ACCESS_KEY"] = "S3RVER",
        ["AWS_REGION"] = "us-east-1",
        ["CPL_VSIL_CURL_NON_CACHED"] = "/vsis3/",
    };

    public S3rver()
    {
        var script = Script ?? throw new InvalidOperationException("s3rver is not installed (run .ci/run).");
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var psi = new ProcessStartInfo("/usr/bin/node") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, "-d", DataFolder, "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--configure-bucket", Bucket, "--silent" })
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, Port);
                // The bucket is configured once the server listens.
                Thread.Sleep(200);
                return;
            }
            catch (SocketException) { Thread.Sleep(100); }
            if (_process.HasExited) break;
        }
        Dispose();
        throw new InvalidOperationException("s3rver did not start within 30 s.");
    }

    /// <summary>Object keys in the bucket (from s3rver's data folder: KEY._S3rver_object files).</summary>
    public IReadOnlyList<string> Keys()
    {
        var root = Path.Combine(DataFolder, Bucket);
        if (!Directory.Exists(root)) return [];
        return Directory.EnumerateFiles(root, "*._S3rver_object", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f)[..^"._S3rver_object".Length].Replace('\\', '/'))
            .OrderBy(k => k, StringComparer.Ordinal).ToList();
    }

    public void Dispose()
    {
        try { if (!_process.HasExited) { _process.Kill(entireProcessTree: true); _process.WaitForExit(5000); } }
        catch (InvalidOperationException) { }
        _process.Dispose();
        try { Directory.Delete(DataFolder, true); } catch (IOException) { }
    }
}

/// <summary>Skipped, with the reason, only when s3rver (or node) is absent; .ci/run installs it.</summary>
public sealed class S3FactAttribute : FactAttribute
{
    public S3FactAttribute()
    {
        if (S3rver.Script is null) Skip = "s3rver 3.7.1 under /usr/bin/node is not installed (.ci/run installs it with npm into $SSL4ECO_TOOLS or ~/.cache/ssl4eco-tools).";
    }
}
