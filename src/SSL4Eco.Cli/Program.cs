return await SSL4Eco.Cli.Commands.CliApp.RunAsync(args);
