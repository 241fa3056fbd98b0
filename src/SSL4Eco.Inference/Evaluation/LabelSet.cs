using System.Globalization;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Heads;

namespace SSL4Eco.Inference.Evaluation;

/// <summary>
/// Labels of N samples for one task: N class indices (classification) or row-major [N, Outputs] 0/1 indicators,
/// values or distributions, with the class/label/target names and optional sample ids.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class LabelSet
{
    private readonly float[] _values;

    /// <summary>Creates a label set, validating shapes and values.</summary>
    /// <exception cref="ArgumentException">The values do not fit the task; the message names the row.</exception>
    public LabelSet(TaskType task, ReadOnlySpan<float> values, IReadOnlyList<string> outputNames, IReadOnlyList<string>? ids = null)
    {
        ArgumentNullException.ThrowIfNull(outputNames);
        int k = outputNames.Count;
        if (k == 0) throw new ArgumentException("Labels need at least one class, label or target name.", nameof(outputNames));
        int perRow = task == TaskType.Classification ? 1 : k;
        if (values.Length == 0) throw new ArgumentException("The label set is empty.", nameof(values));
        if (values.Length % perRow != 0) throw new ArgumentException($"{values.Length} label values are not rows of {perRow}.", nameof(values));
        Count = values.Length / perRow;
        if (ids != null && ids.Count != Count) throw new ArgumentException($"{ids.Count} ids for {Count} label rows.", nameof(ids));
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            bool ok = task switch
            {
                TaskType.Classification => v == MathF.Floor(v) && v >= 0 && v < k,
                TaskType.MultiLabel => v == 0 || v == 1,
                TaskType.Distribution => v >= 0 && float.IsFinite(v),
                _ => float.IsFinite(v),
            };
            if (!ok) throw new ArgumentException($"Label value {v} at row {i / perRow} is not valid for {task} with {k} outputs.", nameof(values));
        }
        Task = task; _values = values.ToArray(); OutputNames = outputNames.ToArray(); Ids = ids?.ToArray();
    }

    /// <summary>The given rows, in that order, with the same outputs.</summary>
    internal LabelSet Subset(IReadOnlyList<int> rows)
    {
        int per = ValuesPerRow;
        var values = new float[rows.Count * per];
        for (int i = 0; i < rows.Count; i++) _values.AsSpan(rows[i] * per, per).CopyTo(values.AsSpan(i * per, per));
        return new LabelSet(Task, values, OutputNames, Ids is null ? null : rows.Select(r => Ids[r]).ToArray());
    }

    /// <summary>The task.</summary>
    public TaskType Task { get; }

    /// <summary>Number of samples.</summary>
    public int Count { get; }

    /// <summary>Number of classes, labels or targets.</summary>
    public int Outputs => OutputNames.Count;

    /// <summary>Class, label or target names.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Sample ids (from a CSV id column), or null.</summary>
    public IReadOnlyList<string>? Ids { get; }

    /// <summary>Values per row: 1 for classification, otherwise <see cref="Outputs"/>.</summary>
    public int ValuesPerRow => Task == TaskType.Classification ? 1 : Outputs;

    /// <summary>The label values (class indices or row-major [Count, Outputs]).</summary>
    public ReadOnlyMemory<float> Values => _values;

    /// <summary>
    /// Reads labels from a <c>.npy</c> file: classification [N] (distinct values become classes, sorted numerically),
    /// multi-label [N, L] 0/1, regression [N] or [N, T], distribution [N, K].
    /// </summary>
    /// <exception cref="InvalidDataException">The array's shape or values do not fit the task.</exception>
    public static LabelSet FromNpy(string path, TaskType task, IReadOnlyList<string>? outputNames = null)
    {
        var (data, shape) = NpyFile.ReadSingle(path);
        if (data.Length == 0) throw new InvalidDataException($"Label file '{path}' is empty.");
        try
        {
            if (task == TaskType.Classification)
            {
                if (shape.Length != 1 && !(shape.Length == 2 && shape[1] == 1))
                    throw new InvalidDataException($"Classification labels in '{path}' must be [N], got [{string.Join(", ", shape)}].");
                var classes = data.Distinct().OrderBy(v => v).ToArray();
                var map = classes.Select((v, i) => (v, i)).ToDictionary(p => p.v, p => (float)p.i);
                var names = outputNames ?? classes.Select(v => v.ToString(CultureInfo.InvariantCulture)).ToArray();
                return new LabelSet(task, data.Select(v => map[v]).ToArray(), names);
            }
            int k = shape.Length == 1 ? 1 : shape.Length == 2 ? shape[1] : throw new InvalidDataException($"Labels in '{path}' must be [N] or [N, K], got [{string.Join(", ", shape)}].");
            return new LabelSet(task, data, outputNames ?? Enumerable.Range(0, k).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray());
        }
        catch (ArgumentException e) { throw new InvalidDataException($"Label file '{path}': {e.Message}", e); }
    }

    /// <summary>
    /// Reads labels from a CSV file with a header row, an id column and label column(s). Classification: one column of
    /// class names (sorted numerically when all are numbers, else ordinally). Multi-label: several 0/1 columns, or one
    /// column of <c>;</c>-separated label names. Regression/distribution: numeric columns.
    /// </summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="task">The task.</param>
    /// <param name="idColumn">Name of the id column.</param>
    /// <param name="labelColumns">Label columns; all columns except the id column when null.</param>
    /// <exception cref="InvalidDataException">The file is empty, a column is missing, or a value does not parse.</exception>
    public static LabelSet FromCsv(string path, TaskType task, string idColumn = "id", IReadOnlyList<string>? labelColumns = null)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToArray();
        if (lines.Length < 2) throw new InvalidDataException($"Label file '{path}' has no data rows.");
        var header = SplitCsv(lines[0]);
        int idCol = header.IndexOf(idColumn);
        if (idCol < 0) throw new InvalidDataException($"Label file '{path}' has no id column '{idColumn}' (columns: {string.Join(", ", header)}).");
        var cols = (labelColumns ?? header.Where((h, i) => i != idCol).ToArray()).Select(c =>
        {
            int i = header.IndexOf(c);
            return i >= 0 ? i : throw new InvalidDataException($"Label file '{path}' has no column '{c}'.");
        }).ToArray();
        if (cols.Length == 0) throw new InvalidDataException($"Label file '{path}' has no label column.");
        var rows = new List<string[]>();
        for (int r = 1; r < lines.Length; r++)
        {
            var f = SplitCsv(lines[r]);
            if (f.Count != header.Count) throw new InvalidDataException($"Label file '{path}' line {r + 1} has {f.Count} fields; the header has {header.Count}.");
            rows.Add(f.ToArray());
        }
        var ids = rows.Select(f => f[idCol]).ToArray();
        try
        {
            switch (task)
            {
                case TaskType.Classification:
                {
                    if (cols.Length != 1) throw new InvalidDataException($"Classification needs one label column in '{path}', got {cols.Length}.");
                    var raw = rows.Select(f => f[cols[0]].Trim()).ToArray();
                    if (raw.Any(v => v.Length == 0)) throw new InvalidDataException($"Label file '{path}' has an empty class at line {Array.FindIndex(raw, v => v.Length == 0) + 2}.");
                    var names = SortNames(raw.Distinct());
                    var map = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => (float)p.i);
                    return new LabelSet(task, raw.Select(v => map[v]).ToArray(), names, ids);
                }
                case TaskType.MultiLabel when cols.Length == 1:
                {
                    var sets = rows.Select(f => f[cols[0]].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
                    var names = SortNames(sets.SelectMany(s => s).Distinct());
                    var map = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i);
                    var values = new float[rows.Count * names.Count];
                    for (int r = 0; r < sets.Length; r++) foreach (var s in sets[r]) values[r * names.Count + map[s]] = 1;
                    return new LabelSet(task, values, names, ids);
                }
                default:
                {
                    var values = new float[rows.Count * cols.Length];
                    for (int r = 0; r < rows.Count; r++)
                        for (int j = 0; j < cols.Length; j++)
                            if (!float.TryParse(rows[r][cols[j]], NumberStyles.Float, CultureInfo.InvariantCulture, out values[r * cols.Length + j]))
                                throw new InvalidDataException($"Label file '{path}' line {r + 2}, column '{header[cols[j]]}': '{rows[r][cols[j]]}' is not a number.");
                    return new LabelSet(task, values, cols.Select(c => header[c]).ToArray(), ids);
                }
            }
        }
        catch (ArgumentException e) { throw new InvalidDataException($"Label file '{path}': {e.Message}", e); }
    }

    private static List<string> SortNames(IEnumerable<string> names)
    {
        var list = names.ToList();
        if (list.All(n => double.TryParse(n, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
            return list.OrderBy(n => double.Parse(n, CultureInfo.InvariantCulture)).ToList();
        list.Sort(StringComparer.Ordinal);
        return list;
    }

    /// <summary>Splits one CSV line (RFC 4180 quotes, comma separator).</summary>
    internal static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var cur = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { cur.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else cur.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(cur.ToString()); cur.Clear(); }
            else cur.Append(c);
        }
        fields.Add(cur.ToString());
        return fields;
    }
}
