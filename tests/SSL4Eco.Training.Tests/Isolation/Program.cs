namespace SSL4Eco.Training.Tests.Isolation;

/// <summary>
/// The test assembly's entry point (GenerateProgramFile is off): <c>dotnet exec SSL4Eco.Training.Tests.dll isolated
/// TYPE METHOD ARGS...</c> runs one scenario for <see cref="Isolated"/>; the test host itself never calls Main.
/// </summary>
public static class Program
{
    public static int Main(string[] args) =>
        args.Length >= 3 && args[0] == "isolated" ? Isolated.ChildMain(args) : 2;
}
