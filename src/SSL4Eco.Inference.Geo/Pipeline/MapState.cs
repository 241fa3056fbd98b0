using System.Text.Json;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>Status of one tile in the resume state.</summary>
internal enum TileStatus : byte
{
    Pending = 0,
    Embedded = 1,
    NoData = 2,
}

/// <summary>
/// The resume state of a map run, in folder <c>prefix.ssl4eco-partial/</c>: <c>embeddings.f32</c> (rows × cols × dim float32,
/// row-major), <c>status.bin</c> (one <see cref="TileStatus"/> byte per tile), <c>valid.f64</c> (valid fraction per tile) and
/// <c>run.json</c> (the facts that decide a tile's embedding: the input's identity, grid, validity rules and the model's
/// <see cref="Inference.Preprocessing.InputRecipe"/>). Embeddings are flushed before their status byte, so a tile marked done is
/// always complete; a state whose facts differ is never resumed (see <see cref="Open"/>).
/// </summary>
/// <remarks>Single writer; not thread-safe.</remarks>
internal sealed class MapState : IDisposable, Outputs.IEmbeddingValues
{
    private readonly FileStream _emb, _status, _valid;
    private readonly int _dim;

    public string Folder { get; }
    public int TileCount { get; }
    public TileStatus[] Status { get; }
    public double[] ValidFraction { get; }

    private MapState(string folder, int tiles, int dim, bool fresh, float noData)
    {
        NoDataValue = noData;
        Folder = folder;
        TileCount = tiles;
        _dim = dim;
        var mode = fresh ? FileMode.Create : FileMode.OpenOrCreate;
        _emb = new FileStream(Path.Combine(folder, "embeddings.f32"), mode, FileAccess.ReadWrite, FileShare.Read);
        _status = new FileStream(Path.Combine(folder, "status.bin"), mode, FileAccess.ReadWrite, FileShare.Read);
        _valid = new FileStream(Path.Combine(folder, "valid.f64"), mode, FileAccess.ReadWrite, FileShare.Read);
        long embLen = (long)tiles * dim * sizeof(float);
        if (_emb.Length != embLen) _emb.SetLength(embLen);
        Status = new TileStatus[tiles];
        ValidFraction = new double[tiles];
        if (_status.Length == tiles) _status.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Status.AsSpan()));
        else _status.SetLength(tiles);
        if (_valid.Length == (long)tiles * 8) _valid.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ValidFraction.AsSpan()));
        else _valid.SetLength((long)tiles * 8);
    }

    /// <summary>
    /// Opens the resume state of <paramref name="prefix"/>. A state made by a run with other <paramref name="facts"/> is
    /// never resumed: with <see cref="ResumeMismatch.Restart"/> it is removed (and <paramref name="restarted"/> says what
    /// differed), with <see cref="ResumeMismatch.Refuse"/> a <see cref="ResumeMismatchException"/> names the differences.
    /// </summary>
    public static MapState Open(string prefix, IReadOnlyDictionary<string, string> facts, int tiles, int dim, bool resume,
        ResumeMismatch onMismatch, float noData, out IReadOnlyList<string> restarted)
    {
        var folder = prefix + ".ssl4eco-partial";
        var runFile = Path.Combine(folder, "run.json");
        var fingerprint = Fingerprint(facts);
        restarted = [];
        bool fresh = !resume || !File.Exists(runFile);
        if (!fresh)
        {
            var differences = Differences(File.ReadAllText(runFile), facts);
            if (differences.Count > 0)
            {
                if (onMismatch == ResumeMismatch.Refuse) throw new ResumeMismatchException(folder, differences);
                restarted = differences;
                fresh = true;
            }
        }
        if (fresh && Directory.Exists(folder)) Directory.Delete(folder, true);
        Directory.CreateDirectory(folder);
        var state = new MapState(folder, tiles, dim, fresh, noData);
        if (fresh) File.WriteAllText(runFile, fingerprint);
        return state;
    }

    /// <summary>
    /// A cheap identity of a (possibly huge) local input: length, last write time, and the SHA-256 of 64 KiB at the start, the
    /// end and 15 evenly spaced offsets (header, tile index and a sample of blocks), so a replaced file of the same size is told
    /// apart without reading it all. For a VRT, the identities of the local files it references are included. GDAL virtual
    /// paths (<c>/vsicurl/…</c>) are identified by their path only.
    /// </summary>
    public static string InputIdentity(string path)
    {
        if (!File.Exists(path)) return "path " + path;
        var info = new FileInfo(path);
        const int piece = 1 << 16;
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        long length;
        using (var fs = new FileStream(info.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, piece))
        {
            length = fs.Length;
            var buffer = new byte[piece];
            var offsets = new SortedSet<long> { 0, Math.Max(0, length - piece) };
            for (int k = 1; k < 16; k++) offsets.Add(length / 16 * k);
            foreach (var offset in offsets)
            {
                fs.Position = offset;
                int n = fs.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                sha.AppendData(buffer, 0, n);
            }
        }
        var id = FormattableString.Invariant($"{length} {info.LastWriteTimeUtc.Ticks} {Convert.ToHexStringLower(sha.GetHashAndReset())}");
        foreach (var source in Files.OutputGuard.VrtSources(path).Take(64))
            if (File.Exists(source) && !source.EndsWith(".vrt", StringComparison.OrdinalIgnoreCase)) id += " | " + InputIdentity(source);
        return id;
    }

    /// <summary>The facts as stable JSON (keys in ordinal order).</summary>
    public static string Fingerprint(IReadOnlyDictionary<string, string> facts) =>
        JsonSerializer.Serialize(new SortedDictionary<string, string>(facts.ToDictionary(), StringComparer.Ordinal));

    /// <summary>The keys whose values differ between a stored fingerprint and <paramref name="facts"/> ("format" when it cannot be read).</summary>
    private static List<string> Differences(string stored, IReadOnlyDictionary<string, string> facts)
    {
        Dictionary<string, string>? old;
        try { old = JsonSerializer.Deserialize<Dictionary<string, string>>(stored); }
        catch (JsonException) { old = null; }
        if (old is null) return ["the resume state's format (made by an older version)"];
        return old.Keys.Union(facts.Keys)
            .Where(k => !(old.TryGetValue(k, out var a) && facts.TryGetValue(k, out var b) && a == b))
            .Order(StringComparer.Ordinal).ToList();
    }

    public void Record(int index, ReadOnlySpan<float> embedding, TileStatus status, double validFraction)
    {
        if (status == TileStatus.Embedded)
        {
            if (embedding.Length != _dim) throw new InvalidOperationException($"Embedding of tile {index} has {embedding.Length} values, {_dim} expected.");
            _emb.Position = (long)index * _dim * sizeof(float);
            _emb.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(embedding));
        }
        _valid.Position = (long)index * 8;
        _valid.Write(BitConverter.GetBytes(validFraction));
        // Hand the tile's data to the OS before its status byte can reach it: after a kill (not a power loss) a tile
        // marked done always has its embedding and valid fraction on file.
        _emb.Flush(flushToDisk: false);
        _valid.Flush(flushToDisk: false);
        ValidFraction[index] = validFraction;
        Status[index] = status;
        _status.Position = index;
        _status.WriteByte((byte)status);
    }

    /// <summary>Flushes embeddings first, then the statuses, so a status never points at missing data.</summary>
    public void Flush()
    {
        _emb.Flush(true);
        _valid.Flush(true);
        _status.Flush(true);
    }

    /// <summary>Nodata value <see cref="Outputs.IEmbeddingValues.Read"/> fills into tiles that are not embedded.</summary>
    public float NoDataValue { get; }

    /// <summary>Embeddings of tiles <c>[firstTile, firstTile + count)</c>; tiles not embedded hold <see cref="NoDataValue"/>.</summary>
    public void Read(int firstTile, int count, Span<float> destination)
    {
        if (firstTile < 0 || count < 0 || firstTile + count > TileCount) throw new ArgumentOutOfRangeException(nameof(firstTile));
        var dst = destination[..(count * _dim)];
        _emb.Position = (long)firstTile * _dim * sizeof(float);
        _emb.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst));
        for (int i = 0; i < count; i++)
            if (Status[firstTile + i] != TileStatus.Embedded) dst.Slice(i * _dim, _dim).Fill(NoDataValue);
    }

    public void Delete()
    {
        Dispose();
        Directory.Delete(Folder, true);
    }

    public void Dispose()
    {
        _emb.Dispose();
        _status.Dispose();
        _valid.Dispose();
    }
}

/// <summary>What a map run does when an unfinished run of the same output was made with other settings, weights or input.</summary>
public enum ResumeMismatch
{
    /// <summary>Stop with a <see cref="ResumeMismatchException"/> naming what differs (default): nothing is lost.</summary>
    Refuse = 0,
    /// <summary>Remove the unfinished run's state and start afresh (logged, naming what differed).</summary>
    Restart = 1,
}

/// <summary>
/// The unfinished run of an output was made with other settings, weights or input than this run, so resuming it would mix
/// two runs into one result.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class ResumeMismatchException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="folder">The resume folder.</param>
    /// <param name="differences">What differs (fingerprint keys).</param>
    public ResumeMismatchException(string folder, IReadOnlyList<string> differences)
        : base($"the unfinished run in '{folder}' was made with a different {string.Join(", ", differences)}; resuming it would mix two runs. " +
            "Start afresh (MapRequest.OnMismatch = Restart) or rerun with the original settings.")
    {
        Folder = folder;
        Differences = differences;
    }

    /// <summary>The resume folder.</summary>
    public string Folder { get; }

    /// <summary>What differs (fingerprint keys, e.g. <c>ssl4eco.scaling_divisor</c>, <c>input.identity</c>).</summary>
    public IReadOnlyList<string> Differences { get; }
}
