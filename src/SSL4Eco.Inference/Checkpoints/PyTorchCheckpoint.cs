using System.IO.Compression;
using System.Numerics;
using System.Security.Cryptography;

namespace SSL4Eco.Inference.Checkpoints;

/// <summary>The container format of a checkpoint file.</summary>
internal enum CheckpointFileFormat
{
    /// <summary>The zip format of <c>torch.save</c> (PyTorch ≥ 1.6): <c>prefix/data.pkl</c> plus <c>prefix/data/KEY</c> storages.</summary>
    Zip,
    /// <summary>The legacy format (<c>_use_new_zipfile_serialization=False</c>): consecutive pickles followed by raw storages.</summary>
    Legacy,
}

/// <summary>
/// Reads PyTorch checkpoints (<c>.ckpt</c>, <c>.pth</c>, <c>.pt</c>) in pure .NET.
/// </summary>
/// <remarks>
/// <para>Unlike <c>torch.load</c> (with <c>weights_only=False</c>), this reader <b>executes nothing</b>: the pickle is
/// interpreted by a small data-only virtual machine. Python globals are recorded by name (<see cref="PickleGlobal"/>);
/// only a fixed list of constructors is understood (<c>torch._utils._rebuild_tensor_v2</c>/<c>_rebuild_tensor</c>/<c>_v3</c>,
/// <c>_rebuild_parameter</c>(<c>_with_state</c>), <c>collections.OrderedDict</c>/<c>Counter</c>, <c>builtins.set</c>/<c>frozenset</c>/<c>list</c>/<c>tuple</c>/<c>bytes</c>,
/// torch storage types and dtypes, and <c>_codecs.encode(text, 'latin1')</c>). Any other call becomes a <see cref="PickleObject"/>
/// recording its class, arguments and state; it is never an error. A malicious file can therefore not run code, and sizes are
/// checked against the file before anything is allocated.</para>
/// <para>Malformed input raises <see cref="CheckpointFormatException"/> whose message says "truncated" or "corrupt" and what was found.</para>
/// <para>Thread-safety: the static methods are thread-safe; see <see cref="CheckpointDocument"/>.</para>
/// </remarks>
internal static class PyTorchCheckpoint
{
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("119547037146038801333356", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Opens a checkpoint file. The returned document keeps the file open for lazy tensor reads: dispose it.</summary>
    /// <exception cref="CheckpointFormatException">The file is truncated, corrupt, or not a PyTorch checkpoint.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static CheckpointDocument Load(string path, CheckpointReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= CheckpointReadOptions.Default;
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            return Open(fs, ownsStream: true, options);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads a checkpoint from a stream. A seekable stream is read in place (it must stay open and unused while the
    /// document lives, and is not disposed by it); a non-seekable stream is first copied to memory.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The data is truncated, corrupt, or not a PyTorch checkpoint.</exception>
    public static CheckpointDocument Load(Stream stream, CheckpointReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= CheckpointReadOptions.Default;
        if (stream.CanSeek) return Open(stream, ownsStream: false, options);
        var ms = new MemoryStream();
        stream.CopyTo(ms);
        ms.Position = 0;
        return Open(ms, ownsStream: true, options);
    }

    private static CheckpointDocument Open(Stream s, bool ownsStream, CheckpointReadOptions o)
    {
        string? sha = null;
        long start = s.Position;
        if (o.ComputeSha256)
        {
            sha = Convert.ToHexStringLower(SHA256.HashData(s));
            s.Position = start;
        }
        Span<byte> head = stackalloc byte[4];
        int got = s.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        s.Position = start;
        if (got < 2)
            throw new CheckpointFormatException($"Checkpoint is truncated: the file holds only {got} bytes.");
        var doc = new CheckpointDocument(s, ownsStream, o) { Sha256 = sha };
        try
        {
            if (head[0] == (byte)'P' && head[1] == (byte)'K') ReadZip(doc, s, o);
            else if (head[0] == 0x80) ReadLegacy(doc, s, o);
            else throw new CheckpointFormatException($"Checkpoint is corrupt or not a PyTorch file: it starts with bytes {Convert.ToHexString(head[..got])}, neither a zip archive (PK) nor a pickle (0x80).");
            return doc;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or OverflowException or ArgumentException or NotSupportedException)
        {
            doc.Dispose();
            throw new CheckpointFormatException($"Checkpoint is corrupt or truncated: {e.Message}", e);
        }
        catch
        {
            doc.Dispose();
            throw;
        }
    }

    private static void ReadZip(CheckpointDocument doc, Stream s, CheckpointReadOptions o)
    {
        ZipArchive zip;
        try { zip = new ZipArchive(s, ZipArchiveMode.Read, leaveOpen: true); }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException($"Checkpoint is truncated or corrupt: the zip directory cannot be read ({e.Message}).", e);
        }
        doc.Zip = zip;
        var pkl = zip.Entries.Where(e => e.FullName == "data.pkl" || e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal))
            .OrderBy(e => e.FullName.Length).FirstOrDefault()
            ?? throw new CheckpointFormatException($"Checkpoint zip is corrupt or not a torch.save archive: no 'data.pkl' among its {zip.Entries.Count} entries.");
        string prefix = pkl.FullName[..^"data.pkl".Length];
        doc.ArchivePrefix = prefix.TrimEnd('/');
        doc.Format = CheckpointFileFormat.Zip;
        var entries = zip.Entries.ToDictionary(e => e.FullName, StringComparer.Ordinal);
        if (entries.TryGetValue(prefix + "byteorder", out var bo) && bo.Length < 16)
        {
            using var r = new StreamReader(bo.Open());
            if (r.ReadToEnd().Trim() == "big")
                throw new CheckpointFormatException("Checkpoint was written on a big-endian machine (byteorder 'big'); only little-endian files are supported.");
        }
        if (pkl.Length > o.MaxPickleBytes)
            throw new CheckpointFormatException($"Checkpoint data.pkl is {pkl.Length} bytes, over the limit of {o.MaxPickleBytes} (CheckpointReadOptions.MaxPickleBytes).");
        var ms = new MemoryStream();
        using (var ps = pkl.Open())
        {
            var buf = new byte[1 << 16];
            int r;
            while ((r = ps.Read(buf)) > 0)
            {
                ms.Write(buf, 0, r);
                if (ms.Length > pkl.Length || ms.Length > o.MaxPickleBytes)
                    throw new CheckpointFormatException($"Checkpoint is corrupt: data.pkl inflates beyond its declared {pkl.Length} bytes.");
            }
        }
        if (ms.Length != pkl.Length)
            throw new CheckpointFormatException($"Checkpoint is truncated: data.pkl holds {ms.Length} bytes, the zip directory says {pkl.Length}.");
        ms.Position = 0;
        var storages = new Dictionary<string, CheckpointStorage>(StringComparer.Ordinal);
        object? Persistent(object? pid)
        {
            if (pid is not PickleTuple { Count: >= 5 } t || t[0] is not string kind || kind != "storage")
                throw new CheckpointFormatException($"Checkpoint pickle is corrupt: persistent id {pid} is not ('storage', type, key, location, numel).");
            if (t[1] is not PickleGlobal g || !CheckpointDTypes.TryFromStorageGlobal(g, out var dtype))
                throw new CheckpointFormatException($"Checkpoint pickle is corrupt or uses an unsupported storage type: {t[1]}.");
            string key = t[2]?.ToString() ?? throw new CheckpointFormatException("Checkpoint pickle is corrupt: storage key is None.");
            if (t[4] is not long numel || numel < 0)
                throw new CheckpointFormatException($"Checkpoint pickle is corrupt: storage '{key}' element count is {t[4]}.");
            if (storages.TryGetValue(key, out var existing)) return existing;
            string name = prefix + "data/" + key;
            if (!entries.TryGetValue(name, out var entry))
                throw new CheckpointFormatException($"Checkpoint is truncated or corrupt: storage entry '{name}' is missing from the zip.");
            long need;
            try { need = checked(numel * dtype.ElementSize()); }
            catch (OverflowException) { throw new CheckpointFormatException($"Checkpoint pickle is corrupt: storage '{key}' declares {numel} elements."); }
            if (need > s.Length)
                throw new CheckpointFormatException($"Checkpoint is truncated or corrupt: storage '{name}' declares {need} bytes, more than the whole file ({s.Length}).");
            if (entry.Length < need)
                throw new CheckpointFormatException($"Checkpoint is truncated or corrupt: storage '{name}' holds {entry.Length} bytes but {numel} {dtype} elements need {need}.");
            var st = new CheckpointStorage(key, dtype, numel, t[3]?.ToString() ?? "cpu", (off, count) => doc.ReadZipEntry(entry, off, count), doc.Reserve);
            storages[key] = st;
            return st;
        }
        doc.Root = new Unpickler(ms, ms.Length, Persistent, o).Load();
    }

    private static void ReadLegacy(CheckpointDocument doc, Stream s, CheckpointReadOptions o)
    {
        doc.Format = CheckpointFileFormat.Legacy;
        long end = s.Length;
        static object? None(object? _) => throw new CheckpointFormatException("Checkpoint pickle is corrupt: a persistent id outside the object pickle.");
        var magic = new Unpickler(s, end, None, o).Load();
        bool magicOk = magic is BigInteger b ? b == LegacyMagic : false;
        if (!magicOk)
            throw new CheckpointFormatException($"Checkpoint is corrupt or not a PyTorch file: a pickle without the torch magic number (found {magic}).");
        var protocol = new Unpickler(s, end, None, o).Load();
        if (protocol is not long p || p != 1001)
            throw new CheckpointFormatException($"Checkpoint legacy protocol {protocol} is not supported (expected 1001).");
        var sysInfo = new Unpickler(s, end, None, o).Load();
        if (sysInfo is PickleDict si && si.GetOrNull("little_endian") is false)
            throw new CheckpointFormatException("Checkpoint was written on a big-endian machine; only little-endian files are supported.");
        var storages = new Dictionary<string, CheckpointStorage>(StringComparer.Ordinal);
        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        object? Persistent(object? pid)
        {
            if (pid is not PickleTuple { Count: >= 1 } t || t[0] is not string kind)
                throw new CheckpointFormatException($"Checkpoint pickle is corrupt: persistent id {pid}.");
            if (kind == "module") return null;
            if (kind != "storage" || t.Count < 6)
                throw new CheckpointFormatException($"Checkpoint pickle is corrupt: persistent id {pid} is not ('storage', type, key, location, size, view).");
            if (t[1] is not PickleGlobal g || !CheckpointDTypes.TryFromStorageGlobal(g, out var dtype))
                throw new CheckpointFormatException($"Checkpoint pickle is corrupt or uses an unsupported storage type: {t[1]}.");
            string key = t[2]?.ToString() ?? throw new CheckpointFormatException("Checkpoint pickle is corrupt: storage key is None.");
            if (t[4] is not long numel || numel < 0)
                throw new CheckpointFormatException($"Checkpoint pickle is corrupt: storage '{key}' element count is {t[4]}.");
            if (!storages.TryGetValue(key, out var st))
            {
                var k = key;
                st = new CheckpointStorage(key, dtype, numel, t[3]?.ToString() ?? "cpu", (off, count) =>
                    offsets.TryGetValue(k, out var at) ? doc.ReadAt(at + off, count)
                        : throw new CheckpointFormatException($"Checkpoint is truncated: storage '{k}' has no data."), doc.Reserve);
                storages[key] = st;
            }
            if (t[5] is PickleTuple { Count: 3 } view && view[1] is long vOff && view[2] is long vSize)
            {
                if (vOff < 0 || vSize < 0 || vOff + vSize > st.Count)
                    throw new CheckpointFormatException($"Checkpoint pickle is corrupt: storage view {view} exceeds its storage of {st.Count} elements.");
                var baseSt = st;
                int es = dtype.ElementSize();
                return new CheckpointStorage(view[0]?.ToString() ?? key, dtype, vSize, st.Location, (off, count) => baseSt.ReadBytes(vOff * es + off, count), doc.Reserve);
            }
            return st;
        }
        doc.Root = new Unpickler(s, end, Persistent, o).Load();
        var keys = new Unpickler(s, end, None, o).Load() as List<object?>
            ?? throw new CheckpointFormatException("Checkpoint is corrupt: the legacy storage key list is missing.");
        Span<byte> n8 = stackalloc byte[8];
        foreach (var kobj in keys)
        {
            string key = kobj?.ToString() ?? "";
            if (!storages.TryGetValue(key, out var st))
                throw new CheckpointFormatException($"Checkpoint is corrupt: storage key '{key}' is listed but never used.");
            if (end - s.Position < 8)
                throw new CheckpointFormatException($"Checkpoint is truncated: storage '{key}' header is missing.");
            s.ReadExactly(n8);
            long n = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(n8);
            long bytes = n < 0 || n > (end - s.Position) ? -1 : n * st.DType.ElementSize();
            if (n != st.Count || bytes < 0 || bytes > end - s.Position)
                throw new CheckpointFormatException($"Checkpoint is truncated or corrupt: storage '{key}' declares {n} elements ({st.Count} expected) with {end - s.Position} bytes left in the file.");
            offsets[key] = s.Position;
            s.Position += bytes;
        }
    }
}

/// <summary>
/// A loaded checkpoint: the unpickled object tree (<see cref="Root"/>) whose tensors read their data lazily from the file.
/// </summary>
/// <remarks>
/// Thread-safe for reading: tensor reads are serialised internally. Dispose to close the file; tensors cannot be
/// materialised after disposal.
/// </remarks>
internal sealed class CheckpointDocument : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly CheckpointReadOptions _options;
    private readonly Lock _gate = new();
    private long _bytesRead;
    private bool _disposed;

    internal CheckpointDocument(Stream stream, bool ownsStream, CheckpointReadOptions options)
    {
        _stream = stream; _ownsStream = ownsStream; _options = options;
    }

    /// <summary>The unpickled root object (usually a <see cref="PickleDict"/>).</summary>
    public object? Root { get; internal set; }

    /// <summary>Lower-case hex SHA-256 of the whole file, or <see langword="null"/> when <see cref="CheckpointReadOptions.ComputeSha256"/> was off.</summary>
    public string? Sha256 { get; internal init; }

    /// <summary>The container format.</summary>
    public CheckpointFileFormat Format { get; internal set; }

    /// <summary>The zip archive's top folder (e.g. <c>archive</c>), or <see langword="null"/> for legacy files.</summary>
    public string? ArchivePrefix { get; internal set; }

    internal ZipArchive? Zip { get; set; }

    internal void Reserve(long count)
    {
        lock (_gate) Account(count);
    }

    private void Account(long count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _bytesRead += count;
        if (_bytesRead > _options.MaxTotalTensorBytes)
            throw new CheckpointFormatException($"Reading tensors would exceed the memory limit of {_options.MaxTotalTensorBytes} bytes (CheckpointReadOptions.MaxTotalTensorBytes).");
        if (count > Array.MaxLength) throw new CheckpointFormatException($"A tensor of {count} bytes is too large for one array.");
    }

    internal byte[] ReadZipEntry(ZipArchiveEntry entry, long offset, long count)
    {
        lock (_gate)
        {
            Account(count);
            try
            {
                if (offset + count > entry.Length)
                    throw new CheckpointFormatException($"Checkpoint is corrupt: reading {count} bytes at {offset} of '{entry.FullName}' ({entry.Length} bytes).");
                var buf = new byte[count];
                using var st = entry.Open();
                if (st.CanSeek) st.Position = offset;
                else
                {
                    var skip = new byte[Math.Min(offset, 1 << 20)];
                    long left = offset;
                    while (left > 0) { int r = st.Read(skip, 0, (int)Math.Min(left, skip.Length)); if (r <= 0) throw new EndOfStreamException(); left -= r; }
                }
                st.ReadExactly(buf);
                return buf;
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException or NotSupportedException)
            {
                throw new CheckpointFormatException($"Checkpoint is truncated or corrupt: storage '{entry.FullName}' cannot be read ({e.Message}).", e);
            }
        }
    }

    internal byte[] ReadAt(long position, long count)
    {
        lock (_gate)
        {
            Account(count);
            if (position < 0 || position + count > _stream.Length)
                throw new CheckpointFormatException($"Checkpoint is truncated: {count} bytes at {position} lie beyond the end of the file ({_stream.Length} bytes).");
            var buf = new byte[count];
            _stream.Position = position;
            _stream.ReadExactly(buf);
            return buf;
        }
    }

    /// <summary>Every tensor reachable from <see cref="Root"/> through dicts, lists, tuples and generic objects, keyed by a dotted path.</summary>
    public IReadOnlyDictionary<string, CheckpointTensor> FindTensors()
    {
        var found = new Dictionary<string, CheckpointTensor>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var work = new Stack<(string Path, object? Value)>();
        work.Push(("", Root));
        while (work.Count > 0)
        {
            var (path, v) = work.Pop();
            if (v is null || v is string || v is byte[] || !seen.Add(v) && v is not CheckpointTensor) continue;
            string P(string k) => path.Length == 0 ? k : path + "." + k;
            switch (v)
            {
                case CheckpointTensor t: found.TryAdd(path, t); break;
                case PickleDict d: foreach (var kv in d.Reverse()) work.Push((P(kv.Key.ToString() ?? ""), kv.Value)); break;
                case List<object?> l: for (int i = l.Count - 1; i >= 0; i--) work.Push((P(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), l[i])); break;
                case PickleTuple t: for (int i = t.Count - 1; i >= 0; i--) work.Push((P(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), t[i])); break;
                case PickleObject o: work.Push((path, o.Attributes())); break;
            }
        }
        return found;
    }

    /// <summary>Closes the file (when the document opened it).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            Zip?.Dispose();
            if (_ownsStream) _stream.Dispose();
        }
    }
}
