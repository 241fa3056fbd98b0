using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Gdal.Tests;

public sealed class OgrPolygonsTests
{
    [Fact]
    public void Unreadable_vectors_are_gdal_errors_naming_the_file_or_layer()
    {
        using var dir = new TempDir();
        var missing = dir.File("none.gpkg");
        Assert.Contains(missing, Assert.Throws<GdalException>(() => OgrPolygons.Read(missing)).Message);
        var points = dir.File("points.geojson");
        File.WriteAllText(points, """{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,2]}}]}""");
        Assert.Contains("no polygon", Assert.Throws<GdalException>(() => OgrPolygons.Read(points)).Message);
        Assert.Contains("no layer 'coast'", Assert.Throws<GdalException>(() => OgrPolygons.Read(points, "coast")).Message);
    }
}
