using System.Globalization;
using System.Text.RegularExpressions;

namespace SSL4Eco.Inference.Geo.Rasters;

/// <summary>
/// The one parser of acquisition dates: <c>yyyy-MM-dd</c> text (options, CSV columns, raster metadata) and the
/// <c>yyyyMMdd</c> in a file name (<c>S2_20240601.tif</c>, <c>T32TQM_20240601T101559_B02_10m.jp2</c>).
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static partial class AcquisitionDate
{
    /// <summary>The text form of a date: <c>yyyy-MM-dd</c>.</summary>
    public const string Format = "yyyy-MM-dd";

    // Eight digits not inside a longer number, optionally followed by a THHmmss time.
    [GeneratedRegex(@"(?<![0-9])([0-9]{8})(?:T[0-9]{6})?(?![0-9])")]
    private static partial Regex InName();

    /// <summary>The first valid <c>yyyyMMdd</c> date in the file name of <paramref name="path"/> (eight digits not part of a longer number), or null.</summary>
    public static DateOnly? FromFileName(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (Match m in InName().Matches(Path.GetFileNameWithoutExtension(path)))
            if (DateOnly.TryParseExact(m.Groups[1].Value, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) return d;
        return null;
    }

    /// <summary>Parses <c>yyyy-MM-dd</c> (surrounding blanks ignored).</summary>
    public static bool TryParse(string? text, out DateOnly date) =>
        DateOnly.TryParseExact(text?.Trim(), Format, CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

    /// <summary>Parses <c>yyyy-MM-dd</c>; <paramref name="what"/> names the value in the error (e.g. <c>--date</c>).</summary>
    /// <exception cref="ArgumentException">The text is not a <c>yyyy-MM-dd</c> date.</exception>
    public static DateOnly Parse(string text, string what) =>
        TryParse(text, out var d) ? d : throw new ArgumentException($"{what} '{text}' is not a yyyy-MM-dd date.");

    /// <summary>The date as <c>yyyy-MM-dd</c>.</summary>
    public static string ToText(DateOnly date) => date.ToString(Format, CultureInfo.InvariantCulture);
}
