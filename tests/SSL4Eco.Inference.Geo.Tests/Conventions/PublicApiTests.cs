namespace SSL4Eco.Inference.Geo.Tests.Conventions;

using SSL4Eco.Inference.Tests.Conventions;

public sealed class PublicApiTests() : LibraryConventionTests(typeof(SSL4Eco.Inference.Geo.Pipeline.EmbeddingMapper).Assembly) { }
