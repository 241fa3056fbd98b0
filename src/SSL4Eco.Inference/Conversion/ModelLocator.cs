using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Registry;

namespace SSL4Eco.Inference.Conversion;

/// <summary>
/// Turns what a user names as "the model" into an ONNX encoder file: an <c>.onnx</c> path is used as is; a checkpoint path
/// (<c>.ckpt</c>, <c>.pth</c>, <c>.pt</c>) is converted once into the cache; a registry id (e.g. <c>seco-eco</c>) is
/// downloaded (resumable, SHA-256 checked), converted and cached.
/// </summary>
/// <remarks>Stateless; thread-safe. Two processes converting the same checkpoint at once both succeed (atomic renames).</remarks>
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
            var sha = await HashPrefixAsync(model, cancellationToken).ConfigureAwait(false);
            var target = Path.Combine(cache.CacheDirectory, "converted", $"{Path.GetFileNameWithoutExtension(model)}-{sha}.onnx");
            if (!File.Exists(target))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                logger?.LogInformation("Converting {Checkpoint} to {Onnx}", model, target);
                CheckpointConverter.Convert(model, target, contract, logger: logger, cancellationToken: cancellationToken);
            }
            return target;
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

    private static async Task<string> HashPrefixAsync(string path, CancellationToken ct)
    {
        await using var fs = File.OpenRead(path);
        var hash = await System.Security.Cryptography.SHA256.HashDataAsync(fs, ct).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash)[..12];
    }
}
