namespace SSL4Eco.Gdal.Tests.Conventions;

public sealed class PublicApiTests() : SSL4Eco.Inference.Tests.Conventions.LibraryConventionTests(typeof(GdalDataset).Assembly) { }
