namespace SSL4Eco.Inference.Conversion;

/// <summary>
/// A SHA-256 seal (<c>FILE.sha256</c>) beside a converted-model cache entry, so a damaged entry (a truncated copy, a
/// disk error, a hand edit) is found on load and rebuilt instead of failing every run with an ONNX parse error.
/// </summary>
/// <remarks>Stateless; thread-safe. Both files are written atomically; a missing or stale seal only costs a rebuild.</remarks>
internal static class CacheSeal
{
    private static string SealPath(string file) => file + ".sha256";

    /// <summary>True when <paramref name="file"/> exists and matches its seal.</summary>
    public static bool IsIntact(string file)
    {
        var seal = SealPath(file);
        if (!File.Exists(file) || !File.Exists(seal)) return false;
        // Read from disk every time (a damaged entry must be found); the hash is remembered, so the encoder that opens this
        // file next does not hash it again for its InputRecipe.
        try { return string.Equals(File.ReadAllText(seal).Trim(), Files.FileHash.Sha256FromDisk(file), StringComparison.Ordinal); }
        catch (IOException) { return false; }
    }

    /// <summary>Writes the seal of <paramref name="file"/>.</summary>
    public static void Seal(string file)
    {
        Files.AtomicFile.WriteText(SealPath(file), Files.FileHash.Sha256FromDisk(file));
    }

    /// <summary>
    /// Returns <paramref name="file"/> when it is intact; otherwise runs <paramref name="build"/> (which writes it), seals it,
    /// and, when a damaged or unsealed entry was there, says so through <paramref name="logger"/>.
    /// </summary>
    public static async Task<string> GetOrBuildAsync(string file, Func<Task> build, Microsoft.Extensions.Logging.ILogger? logger)
    {
        if (IsIntact(file)) return file;
        if (File.Exists(file))
            Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
                "The cached converted model {File} is damaged or unverified; converting the checkpoint again.", file);
        await build().ConfigureAwait(false);
        Seal(file);
        return file;
    }
}
