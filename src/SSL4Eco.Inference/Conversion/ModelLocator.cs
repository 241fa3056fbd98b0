using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Registry;

namespace SSL4Eco.Inference.Conversion;

/// <summary>
/// Turns what a user names as "the model" into an ONNX encoder file: an <c>.onnx</c> path is used as is; a checkpoint path
/// (<c>.ckpt</c>, <c>.pth</c>, <c>.pt</c>) is converted once into the cache; a registry id (e.g. <c>seco-eco</c>) is
/// downloaded (resumable, SHA-256 checked), converted and cached.
/// </summary>
/// <remarks>
/// Thread-safe. Two processes converting the same checkpoint at once both succeed (atomic renames). A local checkpoint's
/// content hash is remembered per path, size and modification time, so an unchanged file is hashed once.
/// </remarks>
public static class ModelLocator
{
    /// <summary>Resolves <paramref name="model"/> to a local ONNX file, downloading and converting when needed.</summary>
    /// <param name="model">An ONNX path, a checkpoint path or a registry id.</param>
    /// <param name="cacheOptions">Cache folder, mirror and HTTP client; defaults when null.</param>
    /// <param name="contract">Input contract for checkpoints the registry does not know; null to infer.</param>
    /// <param name="progress">Download progress in bytes.</param>
    /// <param name="cancellationToken">Cancels download and conversion.</param>
    /// <exception cref="ArgumentException">The name is neither an existing file nor a registry id.</exception>
    public static async Task<string> ResolveAsync(string model, WeightsCacheOptions? cacheOptions = null, ModelContract? contract = null,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        var logger = cacheOptions?.Logger;
        if (File.Exists(model))
        {
            if (string.Equals(Path.GetExtension(model), ".onnx", StringComparison.OrdinalIgnoreCase)) return Path.GetFullPath(model);
            using var cache = new WeightsCache(cacheOptions);
            var sha = await CachedHashPrefixAsync(model, cache.CacheDirectory, cancellationToken).ConfigureAwait(false);
            // A contract given by the caller changes the converted file, so it is part of the key.
            var key = contract is null ? sha : sha + "-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
                System.Text.Encoding.UTF8.GetBytes(contract.ToCanonicalText())))[..8];
            var target = Path.Combine(cache.CacheDirectory, "converted", $"{Path.GetFileNameWithoutExtension(model)}-{key}.onnx");
            // A cache entry is verified against its seal on every load; a damaged one is converted again.
            return await CacheSeal.GetOrBuildAsync(target, () =>
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                logger?.LogInformation("Converting {Checkpoint} to {Onnx}", model, target);
                CheckpointConverter.Convert(model, target, contract, logger: logger, cancellationToken: cancellationToken);
                return Task.CompletedTask;
            }, logger).ConfigureAwait(false);
        }
        if (WeightsRegistry.Default.TryGet(model, out var entry))
        {
            using var cache = new WeightsCache(cacheOptions);
            return await cache.GetOrConvertAsync(entry,
                (ckpt, onnx, ct) => Task.Run(() => CheckpointConverter.Convert(ckpt, onnx, entry.Contract, logger: logger, cancellationToken: ct), ct),
                progress, cancellationToken).ConfigureAwait(false);
        }
        throw new ArgumentException(
            $"Model '{model}' is neither an existing file (.onnx, .ckpt, .pth) nor a registry id ({string.Join(", ", WeightsRegistry.Default.Entries.Select(e => e.Id))}).");
    }

    /// <summary>
    /// The content hash of a local checkpoint, remembered per (full path, length, last write time) in
    /// <c>converted/.hashes/</c>, so resolving the same unchanged file again does not re-read hundreds of MB.
    /// </summary>
    internal static async Task<string> CachedHashPrefixAsync(string path, string cacheDirectory, CancellationToken ct)
    {
        var info = new FileInfo(path);
        var stamp = FormattableString.Invariant($"{info.Length} {info.LastWriteTimeUtc.Ticks}");
        var memo = Path.Combine(cacheDirectory, "converted", ".hashes",
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(info.FullName)))[..16] + ".txt");
        if (File.Exists(memo))
        {
            var parts = (await File.ReadAllTextAsync(memo, ct).ConfigureAwait(false)).Split(' ');
            if (parts.Length == 3 && parts[0] + " " + parts[1] == stamp && parts[2].Length == 12) return parts[2];
        }
        var sha = await HashPrefixAsync(path, ct).ConfigureAwait(false);
        Directory.CreateDirectory(Path.GetDirectoryName(memo)!);
        Files.AtomicFile.WriteText(memo, stamp + " " + sha);
        return sha;
    }

    private static async Task<string> HashPrefixAsync(string path, CancellationToken ct)
    {
        await using var fs = File.OpenRead(path);
        var hash = await System.Security.Cryptography.SHA256.HashDataAsync(fs, ct).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash)[..12];
    }
}
