namespace SSL4Eco.Inference.Geo.Dataset;

/// <summary>One grid location: its stable id, its row and column in the grid, and its centre in WGS 84 degrees.</summary>
/// <param name="Id">Stable id <c>row × 100000 + column</c>: the same for the same spacing whatever the land mask or ROI.</param>
/// <param name="Row">Row (0 = southernmost band).</param>
/// <param name="Column">Column within the row (0 = first cell east of 180° W).</param>
/// <param name="Longitude">Centre longitude in degrees.</param>
/// <param name="Latitude">Centre latitude in degrees.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record GridLocation(long Id, int Row, int Column, double Longitude, double Latitude);

/// <summary>
/// An equal-area grid of points on the sphere of radius <see cref="EarthRadius"/> (the MODIS sinusoidal sphere, so it lines
/// up with MCD12Q2's own grid), built as iso-latitude bands, the construction behind the sinusoidal projection and HEALPix:
/// the meridian is cut into <c>Nr = round(π R / s)</c> bands of equal height <c>h = π R / Nr ≈ s</c>; band <c>i</c>, of exact
/// area <c>A_i = 2 π R² (sin φ_top − sin φ_bottom)</c>, is cut into <c>n_i = max(1, round(A_i / s²))</c> equal longitude
/// sectors. Every cell of a band has exactly the same area, and every cell's area is <c>s² (1 ± 1/(2 n_i))</c>; the points
/// (cell centres) are <c>h</c> apart along meridians and <c>2 π R cos φ_i / n_i ≈ s</c> apart along parallels.
/// Why this construction: it is equal-area by construction (the paper's 23 km grid only needs equal areas and even spacing),
/// its rows follow parallels so ids are simple and stable, and unlike EASE-Grid 2.0 (a cylindrical projection, whose cells
/// stretch to 1:10 and more towards the poles) the spacing stays ≈ s in both directions at every latitude but the polar caps.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class EqualAreaGrid
{
    /// <summary>Sphere radius in metres (MODIS sinusoidal grid).</summary>
    public const double EarthRadius = 6371007.181;

    /// <summary>Column stride of <see cref="GridLocation.Id"/>.</summary>
    public const long IdStride = 100000;

    private readonly int[] _columns;

    /// <summary>Creates a grid of spacing <paramref name="spacingMeters"/> (1 km … 1000 km).</summary>
    public EqualAreaGrid(double spacingMeters)
    {
        if (!(spacingMeters >= 1000 && spacingMeters <= 1_000_000))
            throw new ArgumentOutOfRangeException(nameof(spacingMeters), $"The grid spacing must be between 1 km and 1000 km, got {spacingMeters} m.");
        Spacing = spacingMeters;
        Rows = (int)Math.Round(Math.PI * EarthRadius / spacingMeters);
        RowHeight = Math.PI * EarthRadius / Rows;
        _columns = new int[Rows];
        for (int i = 0; i < Rows; i++) _columns[i] = (int)Math.Max(1, Math.Round(BandArea(i) / (spacingMeters * spacingMeters)));
    }

    /// <summary>The requested spacing in metres.</summary>
    public double Spacing { get; }

    /// <summary>Number of latitude bands.</summary>
    public int Rows { get; }

    /// <summary>Band height along the meridian in metres (≈ <see cref="Spacing"/>).</summary>
    public double RowHeight { get; }

    /// <summary>Number of cells in band <paramref name="row"/>.</summary>
    public int Columns(int row) => _columns[row];

    /// <summary>Latitude of band <paramref name="row"/>'s centre line in degrees.</summary>
    public double RowLatitude(int row) => (-Math.PI / 2 + (row + 0.5) * RowHeight / EarthRadius) * 180 / Math.PI;

    /// <summary>Exact area in m² of band <paramref name="row"/> on the sphere.</summary>
    public double BandArea(int row)
    {
        double south = -Math.PI / 2 + row * RowHeight / EarthRadius, north = south + RowHeight / EarthRadius;
        return 2 * Math.PI * EarthRadius * EarthRadius * (Math.Sin(north) - Math.Sin(south));
    }

    /// <summary>Exact area in m² of every cell of band <paramref name="row"/>.</summary>
    public double CellArea(int row) => BandArea(row) / _columns[row];

    /// <summary>The location at (<paramref name="row"/>, <paramref name="column"/>).</summary>
    public GridLocation At(int row, int column)
    {
        if (row < 0 || row >= Rows) throw new ArgumentOutOfRangeException(nameof(row), $"Row {row} is outside 0..{Rows - 1}.");
        int n = _columns[row];
        if (column < 0 || column >= n) throw new ArgumentOutOfRangeException(nameof(column), $"Column {column} is outside 0..{n - 1}.");
        return new GridLocation(row * IdStride + column, row, column, -180 + (column + 0.5) * 360.0 / n, RowLatitude(row));
    }

    /// <summary>The location with stable id <paramref name="id"/>.</summary>
    public GridLocation FromId(long id) => At((int)(id / IdStride), (int)(id % IdStride));

    /// <summary>Every location whose centre lies in the box (degrees, inclusive), south to north, west to east.</summary>
    public IEnumerable<GridLocation> Within(double west, double south, double east, double north)
    {
        if (!(west <= east && south <= north)) throw new ArgumentException($"The box {west},{south},{east},{north} is not west ≤ east and south ≤ north.");
        int first = Math.Max(0, (int)Math.Floor(((south * Math.PI / 180) + Math.PI / 2) * EarthRadius / RowHeight - 0.5));
        int last = Math.Min(Rows - 1, (int)Math.Ceiling(((north * Math.PI / 180) + Math.PI / 2) * EarthRadius / RowHeight - 0.5));
        for (int row = first; row <= last; row++)
        {
            double lat = RowLatitude(row);
            if (lat < south || lat > north) continue;
            int n = _columns[row];
            int c0 = Math.Max(0, (int)Math.Floor((west + 180) * n / 360.0 - 0.5));
            int c1 = Math.Min(n - 1, (int)Math.Ceiling((east + 180) * n / 360.0 - 0.5));
            for (int c = c0; c <= c1; c++)
            {
                var loc = At(row, c);
                if (loc.Longitude >= west && loc.Longitude <= east) yield return loc;
            }
        }
    }
}
