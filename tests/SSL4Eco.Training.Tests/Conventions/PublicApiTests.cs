namespace SSL4Eco.Training.Tests.Conventions;

using SSL4Eco.Inference.Tests.Conventions;

public sealed class PublicApiTests() : LibraryConventionTests(typeof(SSL4Eco.Training.Trainer.SeCoTrainer).Assembly) { }
