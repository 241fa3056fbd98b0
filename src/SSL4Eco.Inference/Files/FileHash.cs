using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace SSL4Eco.Inference.Files;

/// <summary>
/// Content hashes of local files, remembered per (full path, length, last write time) for the life of the process, so a
/// file that did not change is read once.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal static class FileHash
{
    private static readonly ConcurrentDictionary<(string Path, long Length, long Ticks), string> Known = new();

    /// <summary>Lower-case hex SHA-256 of the whole file.</summary>
    public static string Sha256(string path)
    {
        var info = new FileInfo(path);
        var key = (info.FullName, info.Length, info.LastWriteTimeUtc.Ticks);
        if (Known.TryGetValue(key, out var known)) return known;
        using var fs = new FileStream(info.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20);
        var sha = Convert.ToHexStringLower(SHA256.HashData(fs));
        Known[key] = sha;
        return sha;
    }
}
