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
/// <c>run.json</c> (a fingerprint of input, grid and model). Embeddings are flushed before their status byte, so a tile marked
/// done is always complete; a fingerprint mismatch starts over.
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

    public static MapState Open(string prefix, string fingerprint, int tiles, int dim, bool resume, float noData)
    {
        var folder = prefix + ".ssl4eco-partial";
        var runFile = Path.Combine(folder, "run.json");
        bool fresh = !resume || !File.Exists(runFile) || File.ReadAllText(runFile) != fingerprint;
        if (fresh && Directory.Exists(folder)) Directory.Delete(folder, true);
        Directory.CreateDirectory(folder);
        var state = new MapState(folder, tiles, dim, fresh, noData);
        if (fresh) File.WriteAllText(runFile, fingerprint);
        return state;
    }

    public static string Fingerprint(object facts) => JsonSerializer.Serialize(facts);

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
