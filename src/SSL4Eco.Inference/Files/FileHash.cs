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

    /// <summary>Lower-case hex SHA-256 of the whole file (read only when this file, length and time were not hashed before).</summary>
    public static string Sha256(string path)
    {
        var info = new FileInfo(path);
        return Known.TryGetValue(Key(info), out var known) ? known : Compute(info);
    }

    /// <summary>
    /// Lower-case hex SHA-256 of the whole file, always read from disk (for checks that must see damage), and remembered
    /// so a later <see cref="Sha256"/> of the unchanged file does not read it again.
    /// </summary>
    public static string Sha256FromDisk(string path) => Compute(new FileInfo(path));

    private static (string, long, long) Key(FileInfo info) => (info.FullName, info.Length, info.LastWriteTimeUtc.Ticks);

    private static string Compute(FileInfo info)
    {
        var key = Key(info);
        using var fs = new FileStream(info.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20);
        var sha = Convert.ToHexStringLower(SHA256.HashData(fs));
        Known[key] = sha;
        return sha;
    }
}
