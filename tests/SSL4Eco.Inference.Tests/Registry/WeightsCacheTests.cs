using System.Security.Cryptography;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Registry;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Registry;

public sealed class WeightsCacheTests
{
    private static readonly byte[] Content = MakeContent();

    private static byte[] MakeContent()
    {
        var b = new byte[300_000];
        new Random(7).NextBytes(b);
        return b;
    }

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private static WeightsEntry Entry(string baseUrl, string? sha = null, string? prefix = null) => new()
    {
        Id = "test-model",
        Url = new Uri(baseUrl + "/files/test-model.ckpt"),
        FileName = "test-model.ckpt",
        Sha256 = sha,
        Sha256Prefix = prefix,
        Contract = new ModelContract { Bands = ["B2", "B3"], Scaling = new InputScaling(255), Spatial = SpatialPolicy.BilinearResize },
    };

    private sealed class Progress : IProgress<long>
    {
        public long Last = -1;
        public void Report(long value) => Last = value;
    }

    [Fact]
    public async Task Full_download_is_verified_and_renamed()
    {
        using var dir = new TempDir();
        using var server = new LocalWeightsServer(Content);
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path });
        var progress = new Progress();
        var path = await cache.GetOrDownloadAsync(Entry(server.BaseUrl, sha: Sha(Content)), progress);
        Assert.Equal(Content, File.ReadAllBytes(path));
        Assert.Equal(Content.Length, progress.Last);
        Assert.False(File.Exists(path + ".partial"));
        Assert.Equal(Path.Combine(dir.Path, "test-model", "test-model.ckpt"), path);
    }

    [Fact]
    public async Task Partial_file_is_resumed_with_a_range_request()
    {
        using var dir = new TempDir();
        using var server = new LocalWeightsServer(Content);
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path });
        var entry = Entry(server.BaseUrl, prefix: Sha(Content)[..8]);
        var target = cache.GetCheckpointPath(entry);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.WriteAllBytes(target + ".partial", Content[..123_456]);
        var path = await cache.GetOrDownloadAsync(entry);
        Assert.Equal(Content, File.ReadAllBytes(path));
        Assert.Equal("bytes=123456-", Assert.Single(server.Requests).Range);
        Assert.Equal(Content.Length - 123_456, server.BytesSent);
    }

    [Fact]
    public async Task Server_ignoring_range_restarts_from_zero()
    {
        using var dir = new TempDir();
        using var server = new LocalWeightsServer(Content, honourRange: false);
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path });
        var entry = Entry(server.BaseUrl, sha: Sha(Content));
        var target = cache.GetCheckpointPath(entry);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.WriteAllBytes(target + ".partial", Content[..1000]);
        Assert.Equal(Content, File.ReadAllBytes(await cache.GetOrDownloadAsync(entry)));
    }

    [Fact]
    public async Task Hash_mismatch_leaves_no_file_and_says_so()
    {
        using var dir = new TempDir();
        using var server = new LocalWeightsServer(Content);
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path });
        var entry = Entry(server.BaseUrl, sha: new string('0', 64));
        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetOrDownloadAsync(entry));
        Assert.Contains("SHA-256", e.Message);
        Assert.Contains(Sha(Content), e.Message);
        Assert.False(File.Exists(cache.GetCheckpointPath(entry)));
        Assert.False(File.Exists(cache.GetCheckpointPath(entry) + ".partial"));
    }

    [Fact]
    public async Task Server_down_gives_a_clear_error_with_the_manual_path()
    {
        using var dir = new TempDir();
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path });
        var entry = Entry($"http://127.0.0.1:{LocalWeightsServer.FreePort()}");
        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetOrDownloadAsync(entry));
        Assert.Contains(cache.GetCheckpointPath(entry), e.Message);
        Assert.Contains("manually", e.Message);
    }

    [Fact]
    public async Task Http_error_status_is_named()
    {
        using var dir = new TempDir();
        using var server = new LocalWeightsServer(Content);
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path });
        var entry = Entry(server.BaseUrl) with { Url = new Uri(server.BaseUrl + "/missing.bin") };
        var e = await Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetOrDownloadAsync(entry));
        Assert.Contains("HTTP 404", e.Message);
    }

    [Fact]
    public async Task Cache_hit_makes_no_request()
    {
        using var dir = new TempDir();
        using var server = new LocalWeightsServer(Content);
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path });
        var entry = Entry(server.BaseUrl, sha: Sha(Content));
        await cache.GetOrDownloadAsync(entry);
        Assert.Single(server.Requests);
        await cache.GetOrDownloadAsync(entry);
        Assert.Single(server.Requests);
        Assert.True(cache.IsCached(entry));
    }

    [Fact]
    public async Task Unknown_hash_is_recorded_next_to_the_file()
    {
        using var dir = new TempDir();
        using var server = new LocalWeightsServer(Content);
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path });
        var path = await cache.GetOrDownloadAsync(Entry(server.BaseUrl));
        Assert.Equal(Sha(Content), File.ReadAllText(path + ".sha256").Trim());
    }

    [Fact]
    public async Task Mirror_replaces_the_url_prefix()
    {
        using var dir = new TempDir();
        using var server = new LocalWeightsServer(Content);
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path, MirrorBaseUrl = server.BaseUrl + "/mirror/" });
        var entry = Entry("http://example.invalid", sha: Sha(Content));
        await cache.GetOrDownloadAsync(entry);
        Assert.Equal("/mirror/test-model.ckpt", Assert.Single(server.Requests).Path);
    }

    [Fact]
    public async Task Converted_onnx_is_cached_next_to_the_checkpoint()
    {
        using var dir = new TempDir();
        using var server = new LocalWeightsServer(Content);
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path });
        var entry = Entry(server.BaseUrl, sha: Sha(Content));
        int calls = 0;
        Task Convert(string ckpt, string onnx, CancellationToken ct)
        {
            calls++;
            Assert.Equal(cache.GetCheckpointPath(entry), ckpt);
            File.WriteAllBytes(onnx, File.ReadAllBytes(ckpt)[..10]);
            return Task.CompletedTask;
        }
        var first = await cache.GetOrConvertAsync(entry, Convert);
        var second = await cache.GetOrConvertAsync(entry, Convert);
        Assert.Equal(first, second);
        Assert.Equal(1, calls);
        Assert.Equal(Content[..10], File.ReadAllBytes(first));
        Assert.Equal(Path.GetDirectoryName(cache.GetCheckpointPath(entry)), Path.GetDirectoryName(first));
    }

    [Fact]
    public async Task Failed_conversion_leaves_no_onnx()
    {
        using var dir = new TempDir();
        using var server = new LocalWeightsServer(Content);
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path });
        var entry = Entry(server.BaseUrl, sha: Sha(Content));
        static async Task Fail(string ckpt, string onnx, CancellationToken ct)
        {
            await File.WriteAllTextAsync(onnx, "half", ct);
            throw new InvalidOperationException("boom");
        }
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetOrConvertAsync(entry, Fail));
        Assert.False(File.Exists(cache.GetOnnxPath(entry)));
        Assert.False(File.Exists(cache.GetOnnxPath(entry) + ".partial"));
    }

    [Fact]
    public async Task Cancellation_keeps_the_partial_file_for_resume()
    {
        using var dir = new TempDir();
        using var server = new LocalWeightsServer(Content);
        using var cache = new WeightsCache(new WeightsCacheOptions { CacheDirectory = dir.Path });
        var entry = Entry(server.BaseUrl, sha: Sha(Content));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cache.GetOrDownloadAsync(entry, null, cts.Token));
        Assert.False(File.Exists(cache.GetCheckpointPath(entry)));
    }
}
