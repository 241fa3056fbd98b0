using SSL4Eco.Inference.Evaluation;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Heads;
using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;
using SSL4Eco.Inference.Arrays;

namespace SSL4Eco.Inference.Geo.Tables;

/// <summary>
/// A table of embeddings: one row per item (a patch file, a tile), an id per row and a <c>[Rows, Dimension]</c> float32 matrix.
/// Read and written as <c>.npy</c> (matrix only; ids are row numbers), <c>.csv</c> (<c>id,e0,e1,…</c>) or <c>.parquet</c>
/// (columns <c>id</c> string and <c>embedding</c> list&lt;float&gt;, plus whatever else the file holds, e.g. from
/// <c>ssl4eco map</c>). Writes go to a temporary file renamed on success.
/// </summary>
/// <remarks>Immutable after construction; thread-safe for reading.</remarks>
public sealed class EmbeddingTable
{
    /// <summary>
    /// True when <see cref="Ids"/> are only row numbers (a <c>[rows, dims]</c> .npy, or a table without id column): such ids
    /// name no sample, so rows can be matched to labels by order only.
    /// </summary>
    public bool IdsAreRowNumbers { get; init; }

    /// <summary>Creates a table; throws when the sizes disagree or a value is not finite.</summary>
    public EmbeddingTable(IReadOnlyList<string> ids, float[] values, int dimension)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(values);
        if (dimension <= 0) throw new ArgumentException($"Embedding dimension must be positive, got {dimension}.");
        if ((long)ids.Count * dimension != values.Length)
            throw new ArgumentException($"{ids.Count} ids x {dimension} dims = {(long)ids.Count * dimension} values expected, {values.Length} given.");
        Ids = ids;
        Values = values;
        Dimension = dimension;
    }

    /// <summary>Row ids (file names, tile ids, or row numbers).</summary>
    public IReadOnlyList<string> Ids { get; }

    /// <summary>Row-major <c>[Rows, Dimension]</c> values.</summary>
    public float[] Values { get; }

    /// <summary>Embedding length.</summary>
    public int Dimension { get; }

    /// <summary>Number of rows.</summary>
    public int Rows => Ids.Count;

    /// <summary>
    /// This table as a probe's <see cref="EmbeddingSet"/> named <paramref name="name"/>: with its ids when they name samples
    /// (rows are then matched to label ids, never by position), without when they are only row numbers (<see cref="IdsAreRowNumbers"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The table is empty or holds NaN/∞ (the message names the row).</exception>
    public EmbeddingSet ToEmbeddingSet(string name) => new(name, Values, Dimension, IdsAreRowNumbers ? null : Ids);

    /// <summary>Checks, before any work, that <paramref name="path"/> names a format <see cref="WriteAsync"/> writes.</summary>
    /// <exception cref="ArgumentException">An unknown extension; the message names the file and the formats.</exception>
    public static void CheckFormat(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Extension(path) is not (".npy" or ".csv" or ".parquet"))
            throw new ArgumentException($"cannot write '{Path.GetFileName(path)}': unknown table format '{Path.GetExtension(path)}' (use .npy, .csv or .parquet).");
    }

    /// <summary>The predictions of <paramref name="head"/> for every row, under the same ids: a table [<see cref="Rows"/>, outputs].</summary>
    /// <exception cref="ArgumentException">The head takes embeddings of another dimension.</exception>
    public EmbeddingTable Predict(LinearHead head)
    {
        ArgumentNullException.ThrowIfNull(head);
        if (head.InputDim != Dimension)
            throw new ArgumentException($"The head takes {head.InputDim}-d embeddings; the model gives {Dimension}. Use a head trained on this model's embeddings.");
        return new EmbeddingTable(Ids, head.Predict(Values, Rows), head.Outputs);
    }

    /// <summary>The embedding of one row.</summary>
    public ReadOnlySpan<float> Row(int index) => Values.AsSpan(index * Dimension, Dimension);

    /// <summary>Writes the table; the format follows the extension (.npy, .csv, .parquet).</summary>
    public async Task WriteAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        switch (Extension(path))
        {
            case ".npy":
                NpyFile.Write(path, Values, Rows, Dimension);
                break;
            case ".csv":
                await AtomicFile.WriteViaAsync(path, tmp =>
                {
                    using var w = new StreamWriter(tmp, false, new UTF8Encoding(false));
                    w.Write("id");
                    for (int j = 0; j < Dimension; j++) w.Write($",e{j}");
                    w.WriteLine();
                    for (int i = 0; i < Rows; i++)
                    {
                        w.Write(Quote(Ids[i]));
                        foreach (var v in Row(i)) { w.Write(','); w.Write(v.ToString("R", CultureInfo.InvariantCulture)); }
                        w.WriteLine();
                    }
                    return Task.CompletedTask;
                }, cancellationToken).ConfigureAwait(false);
                break;
            case ".parquet":
                await AtomicFile.WriteViaAsync(path, async tmp =>
                {
                    var id = new DataField<string>("id");
                    var element = new DataField<float>("element");
                    var embedding = new ListField("embedding", element);
                    var schema = new ParquetSchema(id, embedding);
                    var rep = new int[Values.Length];
                    for (int i = 0; i < Rows; i++) rep.AsSpan(i * Dimension + 1, Dimension - 1).Fill(1);
                    await using var stream = File.Create(tmp);
                    await using var writer = await ParquetWriter.CreateAsync(schema, stream, cancellationToken: cancellationToken).ConfigureAwait(false);
                    using var rg = writer.CreateRowGroup();
                    await rg.WriteAsync(id, Ids.ToArray()).ConfigureAwait(false);
                    // Parquet.Net 6 computes list definition levels only on the nullable-values path.
                    var nullable = Array.ConvertAll(Values, v => (float?)v);
                    await rg.WriteAsync<float>(element, nullable.AsMemory(), rep, null, cancellationToken).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentException($"Unknown embedding table format '{Path.GetExtension(path)}' (use .npy, .csv or .parquet).");
        }
    }

    /// <summary>Reads a table written by <see cref="WriteAsync"/>, by <c>ssl4eco map</c> (GeoParquet), or any [N, D] .npy.</summary>
    /// <exception cref="InvalidDataException">The file is empty, ragged, or has no embedding column.</exception>
    public static async Task<EmbeddingTable> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Embedding file '{path}' does not exist.", path);
        EmbeddingTable table;
        switch (Extension(path))
        {
            case ".npy":
            {
                var (data, shape) = NpyFile.ReadSingle(path);
                if (shape.Length == 3)
                {
                    table = FromMapNpy(path, data, shape);
                    break;
                }
                if (shape.Length != 2) throw new InvalidDataException($"'{path}' holds a {shape.Length}-d array; embeddings must be [rows, dims] (ssl4eco embed) or [rows, cols, dims] (ssl4eco map).");
                table = new EmbeddingTable(Enumerable.Range(0, shape[0]).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray(), data, Math.Max(1, shape[1]))
                    { IdsAreRowNumbers = true };
                break;
            }
            case ".csv":
                table = ReadCsv(path);
                break;
            case ".parquet":
                table = await ReadParquetAsync(path, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentException($"Unknown embedding table format '{Path.GetExtension(path)}' (use .npy, .csv or .parquet).");
        }
        if (table.Rows == 0) throw new InvalidDataException($"'{path}' holds no embeddings.");
        for (int i = 0; i < table.Values.Length; i++)
            if (!float.IsFinite(table.Values[i]))
                throw new InvalidDataException($"'{path}': row {i / table.Dimension} ('{table.Ids[i / table.Dimension]}') has a non-finite value at dimension {i % table.Dimension}.");
        return table;
    }

    private static EmbeddingTable ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        if (lines.Length < 2) throw new InvalidDataException($"'{path}' holds no embeddings.");
        int dim = lines[0].Split(',').Length - 1;
        var ids = new List<string>();
        var values = new List<float>();
        for (int i = 1; i < lines.Length; i++)
        {
            var cells = lines[i].Split(',');
            if (cells.Length != dim + 1) throw new InvalidDataException($"'{path}' line {i + 1} has {cells.Length - 1} values, the header {dim}.");
            ids.Add(cells[0].Trim('"'));
            for (int j = 1; j < cells.Length; j++)
                values.Add(float.TryParse(cells[j], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                    : throw new InvalidDataException($"'{path}' line {i + 1}: '{cells[j]}' is not a number."));
        }
        return new EmbeddingTable(ids, values.ToArray(), dim);
    }

    private static async Task<EmbeddingTable> ReadParquetAsync(string path, CancellationToken ct)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct).ConfigureAwait(false);
        var fields = reader.Schema.GetDataFields();
        var element = fields.FirstOrDefault(f => f.Path.ToList().Contains("embedding"))
            ?? throw new InvalidDataException($"'{path}' has no 'embedding' column (columns: {string.Join(", ", fields.Select(f => f.Name))}).");
        var idField = fields.FirstOrDefault(f => f.Name == "id");
        var rowField = fields.FirstOrDefault(f => f.Name == "row");
        var colField = fields.FirstOrDefault(f => f.Name == "col");
        var dateField = fields.FirstOrDefault(f => f.Name == "date");
        var ids = new List<string>();
        var values = new List<float>();
        int dim = -1;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int rows = checked((int)rg.RowCount);
            if (rows == 0) continue;
            {
                long count = rg.GetMetadata(element)?.MetaData?.NumValues
                    ?? throw new InvalidDataException($"'{path}': the 'embedding' column has no metadata.");
                var data = new float[checked((int)count)];
                var rep = new int[data.Length];
                var def = new int[data.Length];
                await rg.ReadRawAsync<float>(element, data.AsMemory(), def.AsMemory(), rep.AsMemory(), ct).ConfigureAwait(false);
                if (def.Any(d => d != element.MaxDefinitionLevel))
                    throw new InvalidDataException($"'{path}': the 'embedding' column holds null rows or values.");
                int starts = rep.Count(r => r == 0);
                if (starts != rows || data.Length % rows != 0)
                    throw new InvalidDataException($"'{path}': {data.Length} embedding values do not split into {rows} equal rows.");
                int len = data.Length / rows;
                for (int i = 0; i < rows; i++)
                    if (rep[i * len] != 0) throw new InvalidDataException($"'{path}': embedding rows have different lengths.");
                if (dim < 0) dim = len;
                else if (len != dim) throw new InvalidDataException($"'{path}': embedding rows have different lengths ({dim} and {len}).");
                values.AddRange(data);
            }
            if (idField is not null)
            {
                var s = new string?[rows];
                await rg.ReadAsync(idField, s.AsMemory(), null, ct).ConfigureAwait(false);
                ids.AddRange(s.Select(x => x ?? ""));
            }
            else if (rowField is not null && colField is not null)
            {
                var r = new int[rows];
                var c = new int[rows];
                await rg.ReadAsync<int>(rowField, r.AsMemory(), null, ct).ConfigureAwait(false);
                await rg.ReadAsync<int>(colField, c.AsMemory(), null, ct).ConfigureAwait(false);
                string?[]? d = null;
                if (dateField is not null)
                {
                    d = new string?[rows];
                    await rg.ReadAsync(dateField, d.AsMemory(), null, ct).ConfigureAwait(false);
                }
                for (int i = 0; i < rows; i++)
                    ids.Add(FormattableString.Invariant($"r{r[i]}_c{c[i]}{(d?[i] is string s ? "_" + s : "")}"));
            }
            else ids.AddRange(Enumerable.Range(ids.Count, rows).Select(i => i.ToString(CultureInfo.InvariantCulture)));
        }
        if (dim <= 0) throw new InvalidDataException($"'{path}' holds no embeddings.");
        return new EmbeddingTable(ids, values.ToArray(), dim) { IdsAreRowNumbers = idField is null && (rowField is null || colField is null) };
    }

    /// <summary>
    /// A map's <c>[rows, cols, dims]</c> .npy: one row per embedded pixel, ids <c>r{row}_c{col}</c> as in the map's GeoParquet;
    /// nodata pixels (every value the nodata value of the map's <c>.json</c> sidecar, −9999 without one) are left out.
    /// </summary>
    private static EmbeddingTable FromMapNpy(string path, float[] data, int[] shape)
    {
        int rows = shape[0], cols = shape[1], dim = shape[2];
        if (dim <= 0) throw new InvalidDataException($"'{path}' holds no embeddings.");
        float noData = -9999f;
        var sidecar = Path.ChangeExtension(path, ".json");
        if (File.Exists(sidecar))
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(sidecar));
                if (doc.RootElement.TryGetProperty("nodata", out var nd) && nd.TryGetSingle(out var v)) noData = v;
            }
            catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"'{sidecar}' (the map's sidecar) is not valid JSON: {e.Message}", e); }
        }
        var ids = new List<string>();
        var values = new List<float>();
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                var v = data.AsSpan((r * cols + c) * dim, dim);
                if (System.MemoryExtensions.IndexOfAnyExcept(v, noData) < 0) continue;
                ids.Add(FormattableString.Invariant($"r{r}_c{c}"));
                values.AddRange(v);
            }
        return new EmbeddingTable(ids, values.ToArray(), dim);
    }

    private static string Extension(string path) => Path.GetExtension(path).ToLowerInvariant();

    private static string Quote(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

}
