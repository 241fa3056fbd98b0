using System.CommandLine;
using System.Globalization;
using SSL4Eco.Inference.Models;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>--input-form raw</c> and its companions: the model takes raw patches and preprocesses them in its graph
/// (<see cref="RawInputForm"/>).
/// </summary>
internal sealed class RawInputOptions
{
    /// <summary>The Sentinel-2 L2A bands in the order a 12-band file stores them (B10 is not in L2A).</summary>
    public static readonly string[] DefaultBands = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"];

    public Option<string> Form { get; } = new("--input-form") { Description = "preprocessed (default): the model takes preprocessed float input; raw: the model takes raw patches and does band selection, NDVI, harmonisation, crop/resize and scaling in its graph (on the execution provider).", DefaultValueFactory = _ => "preprocessed" };
    public Option<string?> Bands { get; } = new("--raw-bands") { Description = "With --input-form raw: the raw patches' bands in file order, comma-separated (default B1,B2,B3,B4,B5,B6,B7,B8,B8A,B9,B11,B12)." };
    public Option<string?> Size { get; } = new("--raw-size") { Description = "With --input-form raw: the raw patch size, HEIGHTxWIDTH or one number for a square (default 256)." };
    public Option<string?> Dtype { get; } = new("--raw-dtype") { Description = "With --input-form raw: uint16 (default) or float32." };

    public void AddTo(Command command)
    {
        command.Options.Add(Form);
        command.Options.Add(Bands);
        command.Options.Add(Size);
        command.Options.Add(Dtype);
    }

    /// <summary>The raw form asked for, or null for preprocessed input; throws <see cref="ArgumentException"/> with the fix.</summary>
    public RawInputForm? Read(ParseResult parse)
    {
        var form = (parse.GetValue(Form) ?? "preprocessed").Trim().ToLowerInvariant();
        if (form == "preprocessed")
        {
            if (parse.GetValue(Bands) is not null || parse.GetValue(Size) is not null || parse.GetValue(Dtype) is not null)
                throw new ArgumentException("--raw-bands, --raw-size and --raw-dtype apply only with --input-form raw.");
            return null;
        }
        if (form != "raw") throw new ArgumentException($"--input-form must be raw or preprocessed, got '{form}'.");
        var bands = parse.GetValue(Bands) is { } b ? b.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : DefaultBands;
        var (h, w) = ParseSize(parse.GetValue(Size) ?? "256");
        RawSampleType type;
        try { type = RawInputForm.ParseSampleType(parse.GetValue(Dtype) ?? "uint16"); }
        catch (ArgumentException e) { throw new ArgumentException($"--raw-dtype: {e.Message}", e); }
        var raw = new RawInputForm { Bands = bands, SampleType = type, Height = h, Width = w };
        raw.Validate();
        return raw;
    }

    private static (int, int) ParseSize(string text)
    {
        var parts = text.ToLowerInvariant().Split('x', StringSplitOptions.TrimEntries);
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 && v <= 16384))
        {
            int h = int.Parse(parts[0], CultureInfo.InvariantCulture);
            return (h, parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : h);
        }
        throw new ArgumentException($"--raw-size must be HEIGHTxWIDTH or one size in pixels (1 to 16384), got '{text}'.");
    }
}
