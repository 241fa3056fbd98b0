namespace SSL4Eco.Inference.Tests.Conventions;

public sealed class PublicApiTests() : LibraryConventionTests(typeof(SSL4Eco.Inference.Embedding.SeCoEcoEncoder).Assembly) { }
