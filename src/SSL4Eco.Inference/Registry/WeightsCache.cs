using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace SSL4Eco.Inference.Registry;

/// <summary>Options of <see cref="WeightsCache"/>.</summary>
/// <remarks>Immutable (init-only); thread-safe.</remarks>
public sealed record WeightsCacheOptions
{
    /// <summary>Cache folder; <see langword="null"/> = <see cref="WeightsCache.DefaultCacheDirectory"/>.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>
    /// Mirror base URL; <see langword="null"/> = the <c>SSL4ECO_WEIGHTS_BASE_URL</c> environment variable, if set.
    /// When set, an entry is fetched from <c>{mirror}/{file_name}</c> instead of its registry URL; an empty string disables
    /// mirroring even when the environment variable is set.
    /// </summary>
    public string? MirrorBaseUrl { get; init; }

    /// <summary>HTTP client to use; <see langword="null"/> = a shared client owned by the cache.</summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>Logger for warnings (e.g. an entry without a known hash); <see langword="null"/> = none.</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>
/// Downloads registry weights into a local cache with HTTP Range resume and SHA-256 verification, and caches converted
/// ONNX models next to them (a download or conversion holds an <see cref="Files.OutputLock"/> on its target, so two processes
/// never write the same cache entry at once; the second waits and uses the first's result). Layout: <c>{cache}/{id}/{file_name}</c>; downloads go to <c>{file}.partial</c> and are
/// renamed only after verification, so a file under its final name is always complete.
/// </summary>
/// <remarks>
/// Thread-safe: concurrent requests for the same entry within one process are serialised. Two processes downloading the
/// same entry at the same moment are not coordinated (the later rename wins; both files are verified).
/// </remarks>
public sealed class WeightsCache : IDisposable
{
    /// <summary>Environment variable overriding the cache folder.</summary>
    public const string CacheEnvironmentVariable = "SSL4ECO_CACHE";

    /// <summary>Environment variable naming a mirror base URL.</summary>
    public const string MirrorEnvironmentVariable = "SSL4ECO_WEIGHTS_BASE_URL";

    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Locks = new(StringComparer.Ordinal);
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ILogger _log;
    private readonly string? _mirror;

    /// <summary>Creates a cache.</summary>
    public WeightsCache(WeightsCacheOptions? options = null)
    {
        options ??= new WeightsCacheOptions();
        CacheDirectory = Path.GetFullPath(options.CacheDirectory ?? DefaultCacheDirectory());
        _mirror = options.MirrorBaseUrl is { } m ? NullIfEmpty(m) : NullIfEmpty(Environment.GetEnvironmentVariable(MirrorEnvironmentVariable));
        _ownsHttp = options.HttpClient is null;
        _http = options.HttpClient ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        _log = options.Logger ?? NullLogger.Instance;
    }

    /// <summary>The cache folder.</summary>
    public string CacheDirectory { get; }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    /// <summary>
    /// The default cache folder: <c>$SSL4ECO_CACHE</c> when set; else <c>%LOCALAPPDATA%\ssl4eco</c> on Windows;
    /// else <c>$XDG_CACHE_HOME/ssl4eco</c>, or <c>~/.cache/ssl4eco</c>.
    /// </summary>
    public static string DefaultCacheDirectory()
    {
        if (NullIfEmpty(Environment.GetEnvironmentVariable(CacheEnvironmentVariable)) is { } env) return env;
        if (OperatingSystem.IsWindows())
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "ssl4eco");
        if (NullIfEmpty(Environment.GetEnvironmentVariable("XDG_CACHE_HOME")) is { } xdg) return Path.Combine(xdg, "ssl4eco");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "ssl4eco");
    }

    /// <summary>Where the entry's checkpoint lives in the cache (whether or not it is there yet).</summary>
    public string GetCheckpointPath(WeightsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Path.Combine(CacheDirectory, entry.Id, entry.FileName);
    }

    /// <summary>Where the entry's converted ONNX model lives in the cache.</summary>
    public string GetOnnxPath(WeightsEntry entry) => Path.ChangeExtension(GetCheckpointPath(entry), ".onnx");

    /// <summary>The URL the entry is fetched from (the mirror's when one is configured).</summary>
    public Uri ResolveUrl(WeightsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return _mirror is null ? entry.Url : new Uri(_mirror.TrimEnd('/') + "/" + Uri.EscapeDataString(entry.FileName));
    }

    /// <summary>Whether the checkpoint is already in the cache.</summary>
    public bool IsCached(WeightsEntry entry) => File.Exists(GetCheckpointPath(entry));

    /// <summary>
    /// Returns the cached checkpoint path, downloading it first when absent (resuming a previous <c>.partial</c> file).
    /// </summary>
    /// <param name="entry">The weights.</param>
    /// <param name="progress">Receives the number of bytes of the file present so far.</param>
    /// <param name="cancellationToken">Cancels the download; the partial file is kept for a later resume.</param>
    /// <exception cref="WeightsDownloadException">Offline, HTTP failure, or hash mismatch; the message says what to do.</exception>
    public async Task<string> GetOrDownloadAsync(WeightsEntry entry, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var path = GetCheckpointPath(entry);
        if (File.Exists(path)) return path;
        var gate = Locks.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (File.Exists(path)) return path;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            // Another process downloading the same file holds this lock until it ends: wait, then use its result.
            using var processLock = await Files.OutputLock.AcquireAsync(path, cancellationToken).ConfigureAwait(false);
            if (File.Exists(path)) return path;
            await DownloadAsync(entry, path, progress, cancellationToken).ConfigureAwait(false);
            return path;
        }
        finally { gate.Release(); }
    }

    /// <summary>
    /// Returns the cached ONNX model of an entry, converting the (downloaded) checkpoint with <paramref name="convert"/> when absent.
    /// The converter writes to a temporary path that is renamed on success.
    /// </summary>
    /// <param name="entry">The weights.</param>
    /// <param name="convert">Converter: (checkpoint path, output ONNX path, cancellation) → task.</param>
    /// <param name="progress">Download progress in bytes.</param>
    /// <param name="cancellationToken">Cancels download or conversion.</param>
    /// <exception cref="WeightsDownloadException">The checkpoint could not be downloaded.</exception>
    public async Task<string> GetOrConvertAsync(WeightsEntry entry, Func<string, string, CancellationToken, Task> convert,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(convert);
        var onnx = GetOnnxPath(entry);
        // The converted file is verified against its seal on every load; a damaged (or unsealed) one is converted again.
        if (Conversion.CacheSeal.IsIntact(onnx)) return onnx;
        var ckpt = await GetOrDownloadAsync(entry, progress, cancellationToken).ConfigureAwait(false);
        var gate = Locks.GetOrAdd(onnx, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Conversion.CacheSeal.IsIntact(onnx)) return onnx;
            Directory.CreateDirectory(Path.GetDirectoryName(onnx)!);
            using var processLock = await Files.OutputLock.AcquireAsync(onnx, cancellationToken).ConfigureAwait(false);
            if (Conversion.CacheSeal.IsIntact(onnx)) return onnx;
            if (File.Exists(onnx)) _log.LogWarning("The cached converted model {File} is damaged or unverified; converting the checkpoint again.", onnx);
            var tmp = onnx + ".partial";
            try
            {
                await convert(ckpt, tmp, cancellationToken).ConfigureAwait(false);
                if (!File.Exists(tmp)) throw new InvalidOperationException($"The converter did not write '{tmp}'.");
                File.Move(tmp, onnx, overwrite: true);
                Conversion.CacheSeal.Seal(onnx);
            }
            finally
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
            return onnx;
        }
        finally { gate.Release(); }
    }

    private string Advice(WeightsEntry entry, string path) =>
        $"Download {entry.Url} manually to '{path}', or pass a local checkpoint file instead of the registry id" +
        (_mirror is null ? $", or set {MirrorEnvironmentVariable} to a mirror holding '{entry.FileName}'." : $" (mirror in use: {_mirror}).");

    private async Task DownloadAsync(WeightsEntry entry, string path, IProgress<long>? progress, CancellationToken ct)
    {
        var partial = path + ".partial";
        var url = ResolveUrl(entry);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new WeightsDownloadException($"Could not download weights '{entry.Id}' from {url}: {e.Message}. {Advice(entry, path)}", e);
            }
            using (response)
            {
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
                {
                    // The partial file may already be complete; verify it, else start over.
                    if (Verify(entry, partial, out _)) { File.Move(partial, path, overwrite: true); return; }
                    File.Delete(partial);
                    continue;
                }
                if (!response.IsSuccessStatusCode)
                    throw new WeightsDownloadException($"Could not download weights '{entry.Id}' from {url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}. {Advice(entry, path)}");
                bool append = have > 0 && response.StatusCode == HttpStatusCode.PartialContent;
                if (append && response.Content.Headers.ContentRange?.From is long from && from != have)
                    append = false; // unexpected range: restart cleanly
                if (!append && response.StatusCode == HttpStatusCode.PartialContent)
                {
                    File.Delete(partial); // a range we did not ask for: start over without one
                    continue;
                }
                if (!append) have = 0;
                try
                {
                    await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                    await using var file = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                    var buffer = new byte[1 << 16];
                    long total = have;
                    progress?.Report(total);
                    int n;
                    while ((n = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                    {
                        await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        total += n;
                        progress?.Report(total);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException)
                {
                    throw new WeightsDownloadException($"Download of weights '{entry.Id}' from {url} was interrupted: {e.Message}. Run again to resume from '{partial}'. {Advice(entry, path)}", e);
                }
            }
            if (!Verify(entry, partial, out var actual))
            {
                File.Delete(partial);
                string expected = entry.Sha256 ?? entry.Sha256Prefix + "…";
                throw new WeightsDownloadException($"Downloaded weights '{entry.Id}' from {url} have SHA-256 {actual}, expected {expected}; the file was deleted. " +
                    $"The download was corrupted or the server holds a different file. Try again, or {char.ToLowerInvariant(Advice(entry, path)[0])}{Advice(entry, path)[1..]}");
            }
            File.Move(partial, path, overwrite: true);
            return;
        }
        throw new WeightsDownloadException($"Could not resume the download of weights '{entry.Id}' from {url}. {Advice(entry, path)}");
    }

    /// <summary>Checks the file against the entry's full hash or prefix; with neither, records the hash and logs a warning.</summary>
    private bool Verify(WeightsEntry entry, string file, out string actual)
    {
        using (var fs = File.OpenRead(file)) actual = Convert.ToHexStringLower(SHA256.HashData(fs));
        if (entry.Sha256 is { } full) return actual == full;
        if (entry.Sha256Prefix is { } prefix) return actual.StartsWith(prefix, StringComparison.Ordinal);
        File.WriteAllText(Path.ChangeExtension(file, null) + ".sha256", actual + "\n");
        _log.LogWarning("Weights '{Id}' have no known SHA-256 in the registry; downloaded file hashes to {Sha256} (recorded next to it). Verify it against the publisher if you can.", entry.Id, actual);
        return true;
    }

    /// <summary>Disposes the HTTP client when the cache created it.</summary>
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}

/// <summary>Thrown when weights cannot be downloaded or verified; the message says what to do (manual download path, local file, mirror).</summary>
public sealed class WeightsDownloadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WeightsDownloadException(string message, Exception? inner = null) : base(message, inner) { }
}
