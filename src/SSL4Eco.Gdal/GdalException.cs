namespace SSL4Eco.Gdal;

/// <summary>A GDAL call failed; <see cref="Exception.Message"/> carries GDAL's own message.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class GdalException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GdalException(string message, int errorNumber = 0) : base(message) => ErrorNumber = errorNumber;

    /// <summary>GDAL's CPLErrorNum (e.g. 4 = CPLE_OpenFailed), 0 when unknown.</summary>
    public int ErrorNumber { get; }
}
