if (SSL4Eco.Cli.Commands.OrtNativePath.Install() is { } problem)
{
    Console.Error.WriteLine($"error: {problem}");
    return SSL4Eco.Cli.Commands.CliRunner.Failure;
}
return await SSL4Eco.Cli.Commands.CliApp.RunAsync(args);
