namespace SSL4Eco.Gdal.Tests.Conventions;

using SSL4Eco.Inference.Tests.Conventions;

public class PublicApiTests
{
    private static readonly System.Reflection.Assembly Library = typeof(GdalDataset).Assembly;

    [Fact]
    public void Public_api_matches_the_approved_file() => ApiConventions.VerifyPublicApi(Library);

    [Fact]
    public void Public_types_document_thread_safety_and_async_methods_take_a_token() => ApiConventions.VerifyConventions(Library);
}
